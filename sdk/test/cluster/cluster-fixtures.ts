/**
 * What the SDK's Cluster tests share: a real 3-master Cluster per engine, a Cluster client as an
 * application holds one for BullMQ (`maxRetriesPerRequest: null`, which BullMQ's workers need),
 * and strict reads of what agents wrote there.
 */
import type { Test } from 'tap'
import calculateSlot from 'cluster-key-slot'
import { Cluster } from 'ioredis'
import { Worker, type Queue } from 'bullmq'
import { eventually } from '../../../test/helpers/eventually.js'
import { startRedisCluster, type TestCluster } from '../../../test/helpers/redis-cluster.js'
import type { RedisEngine } from '../../../test/helpers/redis-server.js'
import { readHeartbeat, readQueueSnapshot, type ReadQueueSnapshot } from '../../src/protocol/index.js'

export const PREFIX = 'gravito:quasar:'

export async function useCluster(t: Test, engine: RedisEngine): Promise<{ cluster: TestCluster; admin: Cluster }> {
  const cluster = await startRedisCluster(3, { engine })
  t.teardown(() => cluster.stop())
  const admin = appCluster(t, cluster)
  await admin.ping()
  return { cluster, admin }
}

/** A Cluster client the way an application using BullMQ opens one. */
export function appCluster(t: Pick<Test, 'teardown'>, cluster: TestCluster): Cluster {
  const client = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: null } })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  return client
}

/** The ports of the masters that hold `keys`: a test of cross-slot writes needs more than one. */
export function mastersOf(admin: Cluster, keys: readonly string[]): Set<string> {
  const slots = admin.slots
  return new Set(keys.map((key) => slots[calculateSlot(key)]?.[0] ?? 'unknown'))
}

export async function heartbeatOf(admin: Cluster, service: string, nodeId: string) {
  const raw = await admin.get(`${PREFIX}node:${service}:${nodeId}`)
  if (raw === null) return null
  const read = readHeartbeat(JSON.parse(raw))
  if (!read.ok) throw new Error(`heartbeat of ${service}/${nodeId} rejected: ${read.error}`)
  return read.value
}

export async function snapshotOf(admin: Cluster, service: string): Promise<ReadQueueSnapshot> {
  const raw = await admin.get(`${PREFIX}queues:${service}`)
  if (raw === null) throw new Error(`no queue snapshot of ${service}`)
  const read = readQueueSnapshot(JSON.parse(raw))
  if (!read.ok) throw new Error(read.error)
  if (read.skippedTotal > 0) throw new Error(`skipped: ${JSON.stringify(read.skipped)}`)
  return read.value
}

/** Adds `count` jobs to a `{bull}`-prefixed queue and has a real worker fail each once; their ids, in order added. */
export async function failedOnCluster(queue: Queue, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let n = 0; n < count; n++) ids.push((await queue.add('charge', { n }, { attempts: 1 })).id!)
  const worker = new Worker(
    queue.name,
    async (job) => {
      throw new Error(`declined ${job.id}`)
    },
    { connection: queue.opts.connection, prefix: '{bull}' },
  )
  worker.on('error', () => {})
  try {
    await eventually(async () => (await queue.getFailedCount()) === count, `${count} jobs failed`)
  } finally {
    await worker.close()
  }
  return ids
}
