/**
 * `/slow` (page), its polled fragment, and `GET /api/pulse/slow`, all from the latest snapshot:
 * a viewer costs no Redis command.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { parseOr400 } from '../http/validate.js'
import { registerPolledPage } from '../render/polled-page.js'
import { viewHelpers } from '../nodes/view-helpers.js'
import type { Clock } from '../clock.js'
import { createSlowCollector } from './collector-part.js'
import { slowQuerySchema } from './schemas.js'
import { buildSlowView, toSlowApi, type SlowFilter } from './service.js'

export const FRAGMENT_URL = '/slow/fragments/board'

const h = {
  ...viewHelpers,
  boardUrl: (filter: SlowFilter) => {
    const query = new URLSearchParams()
    if (filter.service) query.set('service', filter.service)
    if (filter.kind) query.set('kind', filter.kind)
    const text = query.toString()
    return text ? `${FRAGMENT_URL}?${text}` : FRAGMENT_URL
  },
}

export default fp(
  async (app: FastifyInstance, _options: { clock: Clock }) => {
    app.collector.addPart(createSlowCollector(app.redis, app.keys, app.badData))
    registerPolledPage(app, {
      page: { url: '/slow', template: 'slow/page', title: 'Slow' },
      fragment: { url: FRAGMENT_URL, template: 'slow/board' },
      query: slowQuerySchema,
      cacheKey: (query) => `${query.service ?? ''}|${query.kind ?? ''}`,
      build: buildSlowView,
      helpers: h,
    })

    app.get('/api/pulse/slow', async (request, reply) => {
      const query = parseOr400(slowQuerySchema, request.query, reply)
      if (!query) return reply
      return toSlowApi(app.collector.snapshot, query)
    })
  },
  { name: 'zenith-slow', dependencies: ['zenith-collector', 'zenith-redis'] },
)
