/** Shared steps of the history tests: beat like an agent, tick the collector, read history keys. */
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { createKeys, type Heartbeat } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

export const keys = createKeys()

export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

/** CPU of the i-th 10 s sample: the minute (mod 50) plus the position in the minute, 0..5. */
export const cpuOf = (i: number) => (Math.floor(i / 6) % 50) + (i % 6)

export interface BeatValues {
  cpu?: number
  lag?: number
}

/** Writes one heartbeat of `service/nodeId` stamped `at`, the way the SDK does. */
export async function beat(redis: Redis, at: number, values: BeatValues = {}, service = 'billing', nodeId = 'node-1', overrides: Partial<Heartbeat> = {}) {
  const heartbeat = sampleHeartbeat({
    timestamp: at,
    id: nodeId,
    service,
    cpu: { system: values.cpu ?? 40, process: 10, cores: 2 },
    eventLoop: { lagMs: values.lag ?? 1.5, p99Ms: 12 },
    ...overrides,
  })
  await redis.pipeline().set(keys.node(service, nodeId), JSON.stringify(heartbeat), 'EX', 30).zadd(keys.nodeIndex(), at, keys.indexMember(service, nodeId)).exec()
}

/** Every history field of one resolution of a series, across its chunk keys: bucket → value. */
export async function storedBuckets(redis: Redis, kind: 'node' | 'queue', service: string, id: string, resolution: string): Promise<Map<number, string>> {
  const found = await redis.keys(`gravito:quasar:hist:{${kind}:${service}:${id}}:${resolution}:*`)
  const buckets = new Map<number, string>()
  for (const key of found) {
    for (const [field, value] of Object.entries(await redis.hgetall(key))) buckets.set(Number(field), value)
  }
  return new Map([...buckets].sort((a, b) => a[0] - b[0]))
}

export async function historyApi(app: FastifyInstance, url: string) {
  const response = await app.inject({ url })
  return { status: response.statusCode, body: response.json() as { range: string; bucketMs: number; points: Record<string, any>[]; message?: string } }
}
