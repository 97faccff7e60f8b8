/** Writes N synthetic nodes the way the SDK does (heartbeat SET + index ZADD), pipelined. */
import type { Redis } from 'ioredis'
import { createKeys } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../test/helpers/heartbeat.js'

export async function writeNodes(redis: Redis, count: number, services: number, now: number, only?: (i: number) => boolean): Promise<string[]> {
  const keys = createKeys()
  const written: string[] = []
  let pipeline = redis.pipeline()
  for (let i = 0; i < count; i++) {
    if (only && !only(i)) continue
    const service = `service-${i % services}`
    const nodeId = `node-${i}`
    const key = keys.node(service, nodeId)
    const beat = sampleHeartbeat({ timestamp: now, id: nodeId, service, hostname: `host-${i}`, pid: 1000 + i })
    pipeline.set(key, JSON.stringify(beat), 'EX', 300)
    pipeline.zadd(keys.nodeIndex(), now, keys.indexMember(service, nodeId))
    written.push(key)
    if (i % 1000 === 999) {
      await pipeline.exec()
      pipeline = redis.pipeline()
    }
  }
  await pipeline.exec()
  return written
}
