/**
 * `GET /metrics`: the Prometheus text format. Costs no Redis command: every value is the latest
 * snapshot's, or the process's own. Not rate limited, like the pages (a scrape reads memory); never
 * stored by a proxy (server/http/cache-control.ts).
 */
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

export default async function metricsRoutes(app: FastifyInstance, options: { registry: Registry }) {
  const { registry } = options
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()))
}
