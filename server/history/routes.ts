/**
 * History for nodes and queues: the API (`/api/...`, behind the API token when one is set) and the
 * same data at a page-side path (`/charts/...`) which the pages' charts read. The charts must work
 * wherever their page does, so their data is authorised like the page (session cookie, or open when
 * the console has no login), never by the API token, which a browser page does not hold. Both read
 * Redis on request (opened by one person at a time, bounded by the retention), never per tick.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from '../web/validate.js'
import type { Range, SeriesKind } from './metrics.js'
import { nodeParamsSchema, queueParamsSchema, rangeQuerySchema } from './schemas.js'
import { CHART_DATA_PREFIX } from './service.js'

export default async function historyRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>()

  for (const url of ['/api/pulse/nodes/:service/:nodeId/history', `${CHART_DATA_PREFIX}/nodes/:service/:nodeId`]) {
    routes.get(url, { schema: { params: nodeParamsSchema, querystring: rangeQuerySchema } }, async (request, reply) => {
      const { params, query } = request
      const listed = app.collector.snapshot.nodes.some((node) => node.service === params.service && node.nodeId === params.nodeId)
      return answer(request, reply, 'node', params.service, params.nodeId, query.range, listed)
    })
  }

  for (const url of ['/api/pulse/queues/:service/:queue/history', `${CHART_DATA_PREFIX}/queues/:service/:queue`]) {
    routes.get(url, { schema: { params: queueParamsSchema, querystring: rangeQuerySchema } }, async (request, reply) => {
      const { params, query } = request
      // listed when a registered adapter (the queues area's) makes a row of it from the snapshot
      const listed = app.history.rowsOf(app.collector.snapshot).some((row) => row.kind === 'queue' && row.service === params.service && row.id === params.queue)
      return answer(request, reply, 'queue', params.service, params.queue, query.range, listed)
    })
  }

  async function answer(request: FastifyRequest, reply: FastifyReply, kind: SeriesKind, service: string, id: string, range: Range, listed: boolean) {
    try {
      const { bucketMs, points } = await app.history.read(kind, service, id, range)
      if (!listed && points.length === 0 && !(await app.history.exists(kind, service, id))) {
        return reply.code(404).send({ error: 'Not Found', message: `no ${kind} ${service}/${id} and no history of it` })
      }
      return { range, bucketMs, points }
    } catch (error) {
      request.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'history read failed')
      return reply.code(503).send({ error: 'Service Unavailable', message: 'Redis unreachable: history cannot be read right now' })
    }
  }
}
