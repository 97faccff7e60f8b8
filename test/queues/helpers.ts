/** Writing queue data into a real Redis the way agents (and Laravel) do, for the queue tests. */
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { eventually } from '../helpers/eventually.js'
import { findQueue } from '../../server/queues/service.js'
import type { QueueRecord } from '../../server/queues/records.js'
import { createKeys, HEARTBEAT_TTL_SECONDS } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

export const keys = createKeys()

/** A queue snapshot as the SDK writes it: one JSON string per service, `EX 30`. */
export async function writeSnapshot(redis: Redis, service: string, snapshot: Record<string, unknown>) {
  await redis.set(keys.queues(service), JSON.stringify({ service, ...snapshot }), 'EX', HEARTBEAT_TTL_SECONDS)
}

/** A heartbeat (and its index entry), optionally carrying the node's queues. */
export async function beat(redis: Redis, service: string, nodeId: string, at: number, queues?: unknown[]) {
  const payload = { ...sampleHeartbeat({ timestamp: at, id: nodeId, service }), ...(queues ? { queues } : {}) }
  await redis.multi().set(keys.node(service, nodeId), JSON.stringify(payload), 'EX', 30).zadd(keys.nodeIndex(), at, keys.indexMember(service, nodeId)).exec()
}

/** A job payload as Laravel's Redis queue pushes it (Laravel 11, with Horizon's `pushedAt`). */
export function laravelPayload(id: string, pushedAtSeconds: number, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    uuid: `uuid-${id}`,
    displayName: 'App\\Jobs\\SendWelcomeEmail',
    job: 'Illuminate\\Queue\\CallQueuedHandler@call',
    maxTries: 3,
    maxExceptions: null,
    failOnTimeout: false,
    backoff: null,
    timeout: 60,
    retryUntil: null,
    data: { commandName: 'App\\Jobs\\SendWelcomeEmail', command: 'O:27:"App\\Jobs\\SendWelcomeEmail":1:{s:4:"user";i:7;}' },
    createdAt: Math.floor(pushedAtSeconds),
    pushedAt: pushedAtSeconds.toFixed(4),
    id,
    attempts: 0,
    ...extra,
  })
}

/** The HTML between an element's opening tag with this id and the end of the page. */
export function after(html: string, marker: string): string {
  const at = html.indexOf(marker)
  if (at < 0) throw new Error(`${marker} is not on the page`)
  return html.slice(at)
}

/** Ticks the console until it has discovered a queue (a loaded machine may need more than one tick); its record. */
export async function discoveredQueue(app: FastifyInstance, service: string, name: string): Promise<QueueRecord> {
  let record: QueueRecord | null = null
  await eventually(async () => {
    await app.collector.refresh()
    return (record = findQueue(app.collector.snapshot, service, name)) !== null
  }, `queue ${name} of ${service} in the snapshot`)
  return record!
}
