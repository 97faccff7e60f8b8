/**
 * `/alerts` (page), its polled fragment, and `GET /api/pulse/alerts`. All are built from the latest
 * snapshot and the loaded rules: a viewer costs no Redis command.
 */
import type { FastifyInstance } from 'fastify'
import { parseOr400 } from '../web/validate.js'
import { createFragmentCache } from '../web/fragment-cache.js'
import { sendFragment } from '../web/send-fragment.js'
import { formatHelpers } from '../web/format.js'
import type { AlertRules } from './rules.js'
import { alertsQuerySchema } from './schemas.js'
import { buildAlertsView, toAlertsApi } from './service.js'

export const FRAGMENT_URL = '/alerts/fragments/board'

/** Formatting for the alerts templates: the pulse helpers plus the fragment URL. */
const h = {
  ...formatHelpers,
  boardUrl: (filter: string) => (filter ? `${FRAGMENT_URL}?service=${encodeURIComponent(filter)}` : FRAGMENT_URL),
}

export default async function alertsRoutes(app: FastifyInstance, options: { config: AlertRules }) {
  const fragments = createFragmentCache()

  app.get('/alerts', async (request, reply) => {
    const query = parseOr400(alertsQuerySchema, request.query, reply)
    if (!query) return reply
    const view = buildAlertsView(app.collector.snapshot, options.config, query.service)
    return reply.viewAsync('alerts/page', { title: 'Alerts', view, h }, { layout: 'layout' })
  })

  app.get(FRAGMENT_URL, async (request, reply) => {
    const query = parseOr400(alertsQuerySchema, request.query, reply)
    if (!query) return reply
    const snapshot = app.collector.snapshot
    const fragment = await fragments(snapshot.version, query.service ?? '', () =>
      app.view('alerts/board', { view: buildAlertsView(snapshot, options.config, query.service), h }),
    )
    return sendFragment(request, reply, fragment)
  })

  app.get('/api/pulse/alerts', async (request, reply) => {
    const query = parseOr400(alertsQuerySchema, request.query, reply)
    if (!query) return reply
    return toAlertsApi(app.collector.snapshot, query.service)
  })
}
