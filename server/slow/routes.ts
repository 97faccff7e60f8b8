/**
 * `/slow` (page), its polled fragment, and `GET /api/pulse/slow`, all from the latest snapshot:
 * a viewer costs no Redis command.
 */
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from '../web/validate.js'
import { registerPolledPage } from '../web/polled-page.js'
import { formatHelpers } from '../web/format.js'
import { slowQuerySchema } from './schemas.js'
import { buildSlowView, toSlowApi, type SlowFilter } from './service.js'

export const FRAGMENT_URL = '/slow/fragments/board'

const h = {
  ...formatHelpers,
  boardUrl: (filter: SlowFilter) => withQuery(FRAGMENT_URL, filter),
  /** the page with the filter and another range */
  rangeUrl: (filter: SlowFilter, range: string) => withQuery('/slow', { ...filter, range: range as SlowFilter['range'] }),
  /** text colour class of an HTTP status: 2xx/3xx fine, 4xx a warning, 5xx an error */
  statusClass: (status: number) => (status >= 500 ? 'status-error' : status >= 400 ? 'status-warn' : 'status-ok'),
}

function withQuery(path: string, filter: SlowFilter): string {
  const query = new URLSearchParams()
  if (filter.service) query.set('service', filter.service)
  if (filter.kind) query.set('kind', filter.kind)
  if (filter.range) query.set('range', filter.range)
  const text = query.toString()
  return text ? `${path}?${text}` : path
}

export default async function slowRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  registerPolledPage(app, {
    page: { url: '/slow', template: 'slow/page', title: 'Slow' },
    fragment: { url: FRAGMENT_URL, template: 'slow/board' },
    query: slowQuerySchema,
    cacheKey: (query) => `${query.service ?? ''}|${query.kind ?? ''}|${query.range ?? ''}`,
    build: buildSlowView,
    helpers: h,
  })

  routes.get('/api/pulse/slow', { schema: { querystring: slowQuerySchema } }, async (request) => toSlowApi(app.collector.snapshot, request.query))
}
