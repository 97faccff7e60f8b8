/**
 * `/problems` (page), its polled fragment, and `GET /api/problems`: what the console skipped of
 * the agents' data in the last hour, from the bad-data log's problem record. A viewer costs no
 * Redis command; the fragment is rendered once per snapshot version (reports arrive during ticks).
 */
import type { FastifyInstance } from 'fastify'
import type { Clock } from '../clock.js'
import type { Snapshot } from '../collector/snapshot.js'
import type { ZodTypeProvider } from '../web/validate.js'
import { registerPolledPage } from '../web/polled-page.js'
import { formatHelpers } from '../web/format.js'
import { problemsQuerySchema, type ProblemsQuery } from './schemas.js'
import { buildProblemsView, toProblemsApi } from './service.js'

export const FRAGMENT_URL = '/problems/fragments/list'

const h = {
  ...formatHelpers,
  listUrl: (query: ProblemsQuery) => (query.sort === 'newest' ? FRAGMENT_URL : `${FRAGMENT_URL}?sort=${query.sort}`),
}

export default async function problemsRoutes(app: FastifyInstance, options: { clock: Clock }) {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  const view = (snapshot: Snapshot, query: ProblemsQuery) => buildProblemsView(app.badData.problems, options.clock(), snapshot.redis.up, query)
  registerPolledPage(app, {
    page: { url: '/problems', template: 'problems/page', title: 'Problems' },
    fragment: { url: FRAGMENT_URL, template: 'problems/list' },
    query: problemsQuerySchema,
    cacheKey: (query) => query.sort,
    build: view,
    helpers: h,
  })

  routes.get('/api/problems', { schema: { querystring: problemsQuerySchema } }, async (request) => toProblemsApi(view(app.collector.snapshot, request.query)))
}
