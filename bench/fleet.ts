/**
 * A fleet in the SDK's key layout, written the same way to one Redis or to a Cluster: each node's
 * heartbeat (SET … EX) and its entry in its service's node index (ZADD), each service's queue
 * snapshot (SET … EX) and, for some services, a slow stream (XADD … MAXLEN). The writer is any
 * client with auto-pipelining on, so single-key commands go out in one round trip per server
 * whatever their slots; it is untimed, so its grouping does not matter to a measurement.
 */
import { Cluster, Redis } from 'ioredis'
import { createKeys, SLOW_STREAM_MAXLEN, slowEntryFields } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../test/helpers/heartbeat.js'
import type { RedisClient } from '../server/redis/client.js'

export interface FleetShape {
  nodes: number
  services: number
  queuesPerService: number
  /** services with a slow stream */
  slowServices: number
  slowEntries: number
}

export const FLEET: FleetShape = { nodes: 10_000, services: 20, queuesPerService: 3, slowServices: 10, slowEntries: 200 }

const keys = createKeys()
const service = (i: number) => `service-${i}`
const WRITES_AT_ONCE = 2_000
/**
 * The SDK's keys live 30 s and its beats come every 10 s whatever the machine's load; a bench on a
 * busy machine may take longer than that between two beats of a node, so its keys live longer.
 */
const TTL_SECONDS = 300

/** A client for the bench's own writes; the caller disconnects it. */
export function fleetWriter(target: { url: string; cluster: boolean }): RedisClient {
  const { hostname, port } = new URL(target.url)
  return target.cluster ? new Cluster([{ host: hostname, port: Number(port) }], { enableAutoPipelining: true }) : new Redis(target.url, { enableAutoPipelining: true })
}

/** Writes the whole fleet; returns how many commands of each kind were sent, to tell them from the console's. */
export async function writeFleet(redis: RedisClient, shape: FleetShape, now: number): Promise<Map<string, number>> {
  const sent = await writeBeats(redis, shape, now)
  const pending: Promise<unknown>[] = []
  for (let s = 0; s < shape.services; s++) {
    pending.push(redis.set(keys.queues(service(s)), JSON.stringify(queueSnapshot(s, shape.queuesPerService, now)), 'EX', TTL_SECONDS))
    count(sent, 'set')
    if (s >= shape.slowServices) continue
    for (let e = 0; e < shape.slowEntries; e++) {
      const record = { kind: 'request' as const, name: `GET /orders/${e % 7}`, durationMs: 500 + e, method: 'GET', route: `/orders/${e % 7}`, status: 200 }
      pending.push(redis.xadd(keys.slow(service(s)), 'MAXLEN', '~', String(SLOW_STREAM_MAXLEN), '*', ...slowEntryFields(record, now - e * 1000, `node-${s}`)))
      count(sent, 'xadd')
    }
  }
  await Promise.all(pending)
  return sent
}

/**
 * Beats of the nodes `only` selects (all by default), as the SDK writes them: a fifth of the fleet
 * between two ticks when beats come every 10 s and ticks every 2 s.
 */
export async function writeBeats(redis: RedisClient, shape: FleetShape, now: number, only?: (node: number) => boolean): Promise<Map<string, number>> {
  const sent = new Map<string, number>()
  let pending: Promise<unknown>[] = []
  for (let i = 0; i < shape.nodes; i++) {
    if (only && !only(i)) continue
    const nodeId = `node-${i}`
    const beat = sampleHeartbeat({ timestamp: now, id: nodeId, service: service(i % shape.services), hostname: `host-${i}`, pid: 1000 + i })
    pending.push(redis.set(keys.node(beat.service, nodeId), JSON.stringify(beat), 'EX', TTL_SECONDS))
    pending.push(redis.zadd(keys.serviceNodeIndex(beat.service), now, nodeId))
    count(sent, 'set')
    count(sent, 'zadd')
    if (pending.length >= WRITES_AT_ONCE) {
      await Promise.all(pending)
      pending = []
    }
  }
  await Promise.all(pending)
  return sent
}

function queueSnapshot(s: number, queues: number, now: number) {
  return {
    timestamp: now,
    service: service(s),
    nodeId: `node-${s}`,
    queues: Array.from({ length: queues }, (_, q) => ({
      name: `queue-${q}`,
      driver: 'bullmq',
      metrics: { waiting: 10 * q, active: q, delayed: 0, failed: q, completed: 1000 + q, processed: 5000 + s * 10 + q },
      oldestWaitingMs: 1000 * q,
      failedJobs: Array.from({ length: q }, (_, j) => ({ id: `job-${j}`, name: 'send-mail', failedReason: 'SMTP timeout', attemptsMade: 3, timestamp: now - j * 1000 })),
    })),
  }
}

export function count(into: Map<string, number>, command: string, by = 1): void {
  into.set(command, (into.get(command) ?? 0) + by)
}
