/**
 * A plain Redis list used as a queue: its length is the waiting count. Nothing else can be known
 * (`active: null` says so), and there are no failed jobs to retry or delete.
 */
import type { AgentRedis } from '../client.js'
import type { SnapshotQueue } from '../protocol/index.js'
import type { QueueProbe } from './probe.js'
import { Batch, countOf } from './pipeline.js'

export function createRedisListProbe(name: string, options: { redis: AgentRedis; key: string }): QueueProbe {
  const { redis, key } = options
  return {
    name,
    driver: 'redis-list',
    async probe(): Promise<SnapshotQueue> {
      const batch = new Batch(redis)
      batch.add(key, (p) => p.llen(key))
      const [length] = await batch.run()
      return { name, driver: 'redis-list', metrics: { waiting: countOf(length), active: null } }
    },
  }
}
