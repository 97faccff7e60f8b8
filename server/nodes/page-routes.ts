/**
 * The node page (`/pulse/{service}/{nodeId}`) and its polled details fragment, built from the
 * snapshot. What other areas know of the node (its queues, slow entries, firing alerts) comes
 * through `app.nodeCardDecorators`, bound to the same snapshot. Only the page of a node no longer listed asks Redis, whether its history is still kept.
 */
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from '../web/validate.js'
import { viewHelpers as h } from './view-helpers.js'
import { createFragmentCache } from '../web/fragment-cache.js'
import { sendFragment } from '../web/send-fragment.js'
import { nodeParamsSchema, rangeQuerySchema } from '../history/schemas.js'
import { buildNodePage } from './page.js'
import { readStatus, NODE_PARTS } from '../collector/part-status.js'

export default async function nodePageRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  const fragments = createFragmentCache()

  routes.get('/pulse/:service/:nodeId', { schema: { params: nodeParamsSchema, querystring: rangeQuerySchema } }, async (request, reply) => {
    const { params, query } = request
    const snapshot = app.collector.snapshot
    const view = buildNodePage(snapshot, params.service, params.nodeId, query.range)
    const data = { title: `${params.nodeId} · ${params.service}`, section: 'Pulse', view, redis: readStatus(snapshot, NODE_PARTS), h, decorations: app.nodeCardDecorators.bind(snapshot) }
    if (!view.node) {
      // a node past its grace period still has a page while its history is kept
      const known = await app.history.exists('node', params.service, params.nodeId).catch(() => null)
      if (known === null) return reply.code(503).viewAsync('nodes/node-missing', { ...data, reason: 'redis' }, { layout: 'layout' })
      if (!known) return reply.code(404).viewAsync('nodes/node-missing', { ...data, reason: 'unknown' }, { layout: 'layout' })
    }
    return reply.viewAsync('nodes/node-page', data, { layout: 'layout' })
  })

  routes.get('/pulse/:service/:nodeId/fragments/details', { schema: { params: nodeParamsSchema } }, async (request, reply) => {
    const { params } = request
    const snapshot = app.collector.snapshot
    const fragment = await fragments(snapshot.version, `${params.service}:${params.nodeId}`, () =>
      app.view('nodes/node-details', { view: buildNodePage(snapshot, params.service, params.nodeId, '1h'), redis: readStatus(snapshot, NODE_PARTS), h, decorations: app.nodeCardDecorators.bind(snapshot) }),
    )
    return sendFragment(request, reply, fragment)
  })
}
