/**
 * The pulse pages: `/pulse` (full page), its polled fragment, and the JSON API. All three are built
 * from the collector's latest snapshot and cost no Redis command.
 */
import type { FastifyInstance } from 'fastify'
import { createFragmentCache } from '../web/fragment-cache.js'
import { acceptsGzip, sendFragment, sendPage } from '../web/send-fragment.js'
import { pulsePageQuerySchema, pulseQuerySchema, type PulsePageQuery } from './schemas.js'
import { buildPulseView, type PulseView } from './service.js'
import { gzipPulsePage, nodesApiPiece } from './render.js'
import { buildFleetView, queryString, type FleetView, type IsAlerting } from './fleet.js'
import type { NodeCardLookup } from './decorators.js'
import type { ZodTypeProvider } from '../web/validate.js'
import { isHtmx } from '../web/request.js'
import { viewHelpers as h } from './view-helpers.js'
import type { Snapshot } from '../collector/snapshot.js'
import { readStatus, NODE_PARTS } from '../collector/part-status.js'

export default async function nodesRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  // the nodes region, shared by its polls and by the page that embeds it
  const fragments = createFragmentCache()
  const apiAnswers = createFragmentCache()

  const pulseView = latestViews()
  const fleetView = latestFleetViews()

  /**
   * What views/nodes/nodes.eta shows, from one snapshot: the page's region and the fragment alike.
   * The decorators are bound once, so the cards and the problem ordering read the same alerts.
   */
  const nodesData = (snapshot: Snapshot, query: PulsePageQuery) => {
    const decorations = app.nodeCardDecorators.bind(snapshot)
    return {
      view: fleetView(snapshot, query, alertingOf(decorations)),
      redis: readStatus(snapshot, NODE_PARTS),
      h,
      spark: app.history.sparklines,
      // what other areas show on the cards, from the same snapshot as the cards themselves
      decorations,
    }
  }
  // one render per snapshot and normalized query: every viewer of a view shares it, and a poll
  // carries its page's whole query, so it keeps the view it polls
  const nodesFragment = (snapshot: Snapshot, query: PulsePageQuery) => fragments(snapshot.version, queryString(query), async () => app.view('nodes/nodes', nodesData(snapshot, query)))

  app.get('/', async (_request, reply) => reply.redirect('/pulse'))

  routes.get('/pulse', { schema: { querystring: pulsePageQuerySchema } }, async (request, reply) => {
    const { query } = request
    // a GET form sends every field, empty and default ones too: the view's own URL is the short one
    const canonical = `/pulse${queryString(query)}`
    if (request.url !== canonical) {
      if (!isHtmx(request)) return reply.redirect(canonical, 303)
      reply.header('hx-push-url', canonical)
    }
    const snapshot = app.collector.snapshot
    // app.view, unlike reply.view, leaves out what the auth plugin put in reply.locals
    const data = { ...reply.locals, title: 'Pulse', ...nodesData(snapshot, query) }
    if (!acceptsGzip(request)) return sendPage(request, reply, await app.view('nodes/page', data, { layout: 'layout' }))
    // browsers: the page's shell around the nodes region compressed once per snapshot
    const gzipped = await gzipPulsePage(app, data, await nodesFragment(snapshot, query))
    return reply.type('text/html; charset=utf-8').header('vary', 'accept-encoding').header('content-encoding', 'gzip').send(gzipped)
  })

  routes.get('/fragments/pulse/nodes', { schema: { querystring: pulsePageQuerySchema } }, async (request, reply) => {
    return sendFragment(request, reply, await nodesFragment(app.collector.snapshot, request.query))
  })

  routes.get('/api/pulse/nodes', { schema: { querystring: pulseQuerySchema } }, async (request, reply) => {
    const { query } = request
    // cached per snapshot like the fragments: with thousands of nodes the JSON is megabytes, and
    // every client polling between two ticks shares one serialisation and one gzip of it
    const snapshot = app.collector.snapshot
    const answer = await apiAnswers(snapshot.version, query.service ?? '', () => nodesApiPiece(pulseView(snapshot, query.service)))
    return sendFragment(request, reply, answer, 'application/json; charset=utf-8')
  })
}

/**
 * The page, its fragment and the JSON of one snapshot share one view: with 10,000 nodes a view is
 * 10,000 node objects, and the renders that hold it across their awaits would otherwise each move
 * their own copy into the old generation. Views are kept for the latest snapshot only.
 */
function latestViews(maxFilters = 64) {
  let snapshotOfViews: Snapshot | null = null
  const views = new Map<string, PulseView>()
  return (snapshot: Snapshot, filter: string | undefined): PulseView => {
    if (snapshot !== snapshotOfViews || views.size >= maxFilters) {
      views.clear()
      snapshotOfViews = snapshot
    }
    let view = views.get(filter ?? '')
    if (!view) {
      view = buildPulseView(snapshot, filter)
      views.set(filter ?? '', view)
    }
    return view
  }
}

/** Fleet views of the latest snapshot, by normalized query, bounded like the fragment cache. */
function latestFleetViews(maxQueries = 64) {
  let snapshotOfViews: Snapshot | null = null
  const views = new Map<string, FleetView>()
  return (snapshot: Snapshot, query: PulsePageQuery, isAlerting: IsAlerting): FleetView => {
    if (snapshot !== snapshotOfViews || views.size >= maxQueries) {
      views.clear()
      snapshotOfViews = snapshot
    }
    const key = queryString(query)
    let view = views.get(key)
    if (!view) {
      view = buildFleetView(snapshot, query, isAlerting)
      views.set(key, view)
    }
    return view
  }
}

/** A node is alerting when the alerts area's card decoration lists a firing alert for it. */
function alertingOf(decorations: Readonly<Record<string, NodeCardLookup>>): IsAlerting {
  const firing = decorations.firing
  if (!firing) return () => false
  return (service, nodeId) => {
    const alerts = firing(service, nodeId)
    return Array.isArray(alerts) && alerts.length > 0
  }
}
