/**
 * Probes for orchestrators. `/livez` answers from memory only; `/readyz` reports whether the last
 * collector tick reached Redis.
 */
import type { FastifyInstance } from 'fastify'

export default async function systemRoutes(app: FastifyInstance) {
  app.get('/livez', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const { redis } = app.collector.snapshot
    if (redis.up) return { status: 'ready' }
    return reply.code(503).send({ status: 'unavailable', redis: 'unreachable', since: redis.downSince })
  })
}
