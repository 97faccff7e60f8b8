/**
 * Probes for orchestrators. `/livez` answers from memory only. `/readyz` answers 503 only when
 * this console cannot serve true data: Redis does not answer its probe, or the collector has
 * stopped ticking (no snapshot for longer than a tick can take). A part that fails on its own
 * (one agent's bad data, a bug in one reader) keeps the console ready: its last data is served
 * with its age, and the part is named under `degraded`. No exception text here: that is in the
 * log, under the id the pages show. A Redis too old for part of the console keeps it ready and
 * is named under `warnings`. On a Redis Cluster, masters that do not serve their slots while
 * others answer are listed under `shards`, with their addresses and slot ranges.
 */
import type { FastifyInstance } from 'fastify'
import type { Clock } from '../clock.js'

export interface SystemRoutesOptions {
  clock: Clock
}

export default async function systemRoutes(app: FastifyInstance, options: SystemRoutesOptions) {
  app.get('/livez', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const { collector } = app
    const snapshot = collector.snapshot
    const now = options.clock()
    if (snapshot.version === 0) return reply.code(503).send({ status: 'unavailable', reason: 'starting' })
    if (!snapshot.redis.up) return reply.code(503).send({ status: 'unavailable', reason: 'redis unreachable', redis: 'unreachable', since: snapshot.redis.downSince })
    // a tick takes at most the part timeout; two ticks and their pauses without a snapshot is a stall
    const stallAfterMs = 2 * (collector.tickMs + collector.partTimeoutMs)
    if (now - snapshot.generatedAt > stallAfterMs) return reply.code(503).send({ status: 'unavailable', reason: 'collector stalled', lastSnapshotAt: snapshot.generatedAt })
    const degraded = Object.entries(snapshot.parts)
      .filter(([, part]) => !part.ok && part.failures > 0)
      .map(([key]) => key)
    const { warnings } = app.redisVersion.state
    // Cluster masters that do not serve their slots: the console is up, that part of the data is not read
    const shards = snapshot.redis.shards ?? []
    return { status: 'ready', ...(degraded.length > 0 ? { degraded } : {}), ...(shards.length > 0 ? { shards } : {}), ...(warnings.length > 0 ? { warnings } : {}) }
  })
}
