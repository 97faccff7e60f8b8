/**
 * The node page (`/pulse/{service}/{nodeId}`), its polled details fragment, and the history API
 * for nodes and queues. The page and fragment are built from the snapshot; the history API reads
 * Redis on request (opened by one person at a time, bounded by the retention), never per tick.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from '../web/validate.js'
import { viewHelpers as h } from '../nodes/view-helpers.js'
import { createFragmentCache } from '../web/fragment-cache.js'
import { sendFragment } from '../web/send-fragment.js'
import { queueRows } from './adapters.js'
import type { Range, SeriesKind } from './metrics.js'
import { nodeParamsSchema, queueParamsSchema, rangeQuerySchema } from './schemas.js'
import { buildNodePage, findNode } from './service.js'
import { readStatus, NODE_PARTS } from '../collector/part-status.js'

export default async function historyRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  const fragments = createFragmentCache()

  routes.get('/pulse/:service/:nodeId', { schema: { params: nodeParamsSchema, querystring: rangeQuerySchema } }, async (request, reply) => {
    const { params, query } = request
    const snapshot = app.collector.snapshot
    const view = buildNodePage(snapshot, params.service, params.nodeId, query.range)
    const data = { title: `${params.nodeId} · ${params.service}`, section: 'Pulse', view, redis: readStatus(snapshot, NODE_PARTS), h }
    if (!view.node) {
      // a node past its grace period still has a page while its history is kept
      const known = await app.history.exists('node', params.service, params.nodeId).catch(() => null)
      if (known === null) return reply.code(503).viewAsync('history/node-missing', { ...data, reason: 'redis' }, { layout: 'layout' })
      if (!known) return reply.code(404).viewAsync('history/node-missing', { ...data, reason: 'unknown' }, { layout: 'layout' })
    }
    return reply.viewAsync('history/node-page', data, { layout: 'layout' })
  })

  routes.get('/pulse/:service/:nodeId/fragments/details', { schema: { params: nodeParamsSchema } }, async (request, reply) => {
    const { params } = request
    const snapshot = app.collector.snapshot
    const fragment = await fragments(snapshot.version, `${params.service}:${params.nodeId}`, () =>
      app.view('history/node-details', { view: buildNodePage(snapshot, params.service, params.nodeId, '1h'), redis: readStatus(snapshot, NODE_PARTS), h }),
    )
    return sendFragment(request, reply, fragment)
  })

  routes.get('/api/pulse/nodes/:service/:nodeId/history', { schema: { params: nodeParamsSchema, querystring: rangeQuerySchema } }, async (request, reply) => {
    const { params, query } = request
    const listed = findNode(app.collector.snapshot, params.service, params.nodeId) !== null
    return answer(request, reply, 'node', params.service, params.nodeId, query.range, listed)
  })

  routes.get('/api/pulse/queues/:service/:queue/history', { schema: { params: queueParamsSchema, querystring: rangeQuerySchema } }, async (request, reply) => {
    const { params, query } = request
    const listed = queueRows(app.collector.snapshot).some((row) => row.service === params.service && row.id === params.queue)
    return answer(request, reply, 'queue', params.service, params.queue, query.range, listed)
  })

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
