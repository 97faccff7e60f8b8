/**
 * `/alerts` (page), its polled fragment, and `GET /api/pulse/alerts`. All are built from the latest
 * snapshot and the loaded rules: a viewer costs no Redis command.
 */
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from '../web/validate.js'
import { createFragmentCache } from '../web/fragment-cache.js'
import { sendFragment } from '../web/send-fragment.js'
import { formatHelpers } from '../web/format.js'
import type { AlertRules } from './rules.js'
import { alertsQuerySchema } from './schemas.js'
import { buildAlertsView, toAlertsApi } from './service.js'
import { alertsOf } from './collector-part.js'

export const FRAGMENT_URL = '/alerts/fragments/board'

/** Formatting for the alerts templates: the shared formatters plus the fragment URL. */
const h = {
  ...formatHelpers,
  boardUrl: (filter: string) => (filter ? `${FRAGMENT_URL}?service=${encodeURIComponent(filter)}` : FRAGMENT_URL),
}

export default async function alertsRoutes(app: FastifyInstance, options: { config: AlertRules }) {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  const fragments = createFragmentCache()
  const navCounts = createFragmentCache()

  routes.get('/alerts', { schema: { querystring: alertsQuerySchema } }, async (request, reply) => {
    const { query } = request
    const view = buildAlertsView(app.collector.snapshot, options.config, query.service)
    return reply.viewAsync('alerts/page', { title: 'Alerts', view, h }, { layout: 'layout' })
  })

  routes.get(FRAGMENT_URL, { schema: { querystring: alertsQuerySchema } }, async (request, reply) => {
    const { query } = request
    const snapshot = app.collector.snapshot
    const fragment = await fragments(snapshot.version, query.service ?? '', () => app.view('alerts/board', { view: buildAlertsView(snapshot, options.config, query.service), h }))
    return sendFragment(request, reply, fragment)
  })

  // the navigation's count, polled by every page (views/alerts/nav-count.eta): once per snapshot
  routes.get('/alerts/fragments/nav-count', async (request, reply) => {
    const snapshot = app.collector.snapshot
    const fragment = await navCounts(snapshot.version, '', () => app.view('alerts/nav-count', { count: alertsOf(snapshot).firing.length }))
    return sendFragment(request, reply, fragment)
  })

  routes.get('/api/pulse/alerts', { schema: { querystring: alertsQuerySchema } }, async (request) => {
    const { query } = request
    return toAlertsApi(app.collector.snapshot, query.service)
  })
}
