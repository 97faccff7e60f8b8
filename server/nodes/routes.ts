/**
 * The pulse pages: `/pulse` (full page), its polled fragment, and the JSON API. All three are built
 * from the collector's latest snapshot and cost no Redis command.
 */
import type { FastifyInstance } from 'fastify'
import { createFragmentCache } from '../render/fragment-cache.js'
import { sendFragment, sendPage } from '../render/send-fragment.js'
import { pulseQuerySchema } from './schemas.js'
import { buildPulseView, toNodesApi } from './service.js'
import { parseOr400 } from '../http/validate.js'
import { viewHelpers as h } from './view-helpers.js'
import { firingForNode } from '../alerts/service.js'
import type { Snapshot } from '../collector/snapshot.js'
import { readStatus, NODE_PARTS } from '../collector/part-status.js'

export default async function nodesRoutes(app: FastifyInstance) {
  const fragments = createFragmentCache()
  const apiAnswers = createFragmentCache()

  app.get('/', async (_request, reply) => reply.redirect('/pulse'))

  app.get('/pulse', async (request, reply) => {
    const query = parseOr400(pulseQuerySchema, request.query, reply)
    if (!query) return reply
    const snapshot = app.collector.snapshot
    const view = buildPulseView(snapshot, query.service)
    // app.view, unlike reply.view, leaves out what the auth plugin put in reply.locals
    const data = { ...reply.locals, title: 'Pulse', view, filter: query.service ?? '', redis: readStatus(snapshot, NODE_PARTS), h, spark: app.history.sparklines, firing: firingOn(snapshot) }
    return sendPage(request, reply, await app.view('pulse/page', data, { layout: 'layout' }))
  })

  app.get('/pulse/fragments/nodes', async (request, reply) => {
    const query = parseOr400(pulseQuerySchema, request.query, reply)
    if (!query) return reply
    const snapshot = app.collector.snapshot
    const fragment = await fragments(snapshot.version, query.service ?? '', () =>
      app.view('pulse/nodes', { view: buildPulseView(snapshot, query.service), filter: query.service ?? '', redis: readStatus(snapshot, NODE_PARTS), h, spark: app.history.sparklines, firing: firingOn(snapshot) }),
    )
    return sendFragment(request, reply, fragment)
  })

  app.get('/api/pulse/nodes', async (request, reply) => {
    const query = parseOr400(pulseQuerySchema, request.query, reply)
    if (!query) return reply
    // cached per snapshot like the fragments: with thousands of nodes the JSON is megabytes, and
    // every client polling between two ticks shares one serialisation and one gzip of it
    const snapshot = app.collector.snapshot
    const answer = await apiAnswers(snapshot.version, query.service ?? '', async () => JSON.stringify(toNodesApi(buildPulseView(snapshot, query.service))))
    return sendFragment(request, reply, answer, 'application/json; charset=utf-8')
  })
}

/** The node cards' firing alerts, from the same snapshot as the cards themselves. */
function firingOn(snapshot: Snapshot) {
  return (service: string, nodeId: string) => firingForNode(snapshot, service, nodeId)
}
