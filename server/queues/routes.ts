/**
 * `/queues` (table of every queue), the queue page `/queues/{service}/{queue}`, their fragments, and
 * the JSON API. Everything comes from the latest snapshot: a viewer costs no Redis command, except
 * the queue page of a queue no longer reported, which asks the history store whether it ever was.
 * The failed-jobs region carries the command buttons, which depend on the viewer (role, CSRF
 * token), so it is rendered per request; the table and the counts are rendered once per snapshot.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ZodTypeProvider } from '../web/validate.js'
import { createFragmentCache, renderedFragment } from '../web/fragment-cache.js'
import { sendFragment } from '../web/send-fragment.js'
import { registerPolledPage } from '../web/polled-page.js'
import { queueParamsSchema } from '../history/schemas.js'
import { jobsQuerySchema, liveJobsQuerySchema, queuePageQuerySchema, queuesQuerySchema, type QueuesQuery } from './schemas.js'
import { buildLiveJobsView, toLiveJobsApi } from './live-view.js'
import { LIVE_JOBS_PAGE_SIZE, type LiveJobState } from './live-jobs.js'
import type { QueueRecord } from './records.js'
import { buildQueuePage, buildQueuesView, findQueue, TABLE_FRAGMENT_URL, toJobsApi, toQueuesApi } from './service.js'
import { queueViewHelpers as h } from './view-helpers.js'
import { readStatus } from '../collector/part-status.js'

export default async function queuesRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  const summaries = createFragmentCache()
  const apiAnswers = createFragmentCache()
  const tableKey = (query: QueuesQuery) => [query.service, query.driver, query.sort, query.dir].join('|')

  registerPolledPage(app, {
    page: { url: '/queues', template: 'queues/page', title: 'Queues' },
    fragment: { url: TABLE_FRAGMENT_URL, template: 'queues/table' },
    query: queuesQuerySchema,
    cacheKey: tableKey,
    // the flags come from the same snapshot as the rows: one render never mixes two
    build: (snapshot, query) => buildQueuesView(snapshot, query, app.queueFlagDecorators.bind(snapshot)),
    helpers: h,
  })

  routes.get('/api/pulse/queues', { schema: { querystring: queuesQuerySchema } }, async (request, reply) => {
    const { query } = request
    // cached per snapshot like the fragments: pollers between two ticks share one serialisation
    const snapshot = app.collector.snapshot
    const answer = await apiAnswers(snapshot.version, tableKey(query), async () => JSON.stringify(toQueuesApi(snapshot, query)))
    return sendFragment(request, reply, answer, 'application/json; charset=utf-8')
  })

  routes.get('/queues/:service/:queue', { schema: { params: queueParamsSchema, querystring: queuePageQuerySchema } }, async (request, reply) => {
    const { params, query } = request
    const snapshot = app.collector.snapshot
    const view = buildQueuePage(snapshot, params.service, params.queue, query.page, query.range, app.queueFlagDecorators.bind(snapshot))
    const data = { title: `${params.queue} · ${params.service}`, section: 'Queues', view, redis: readStatus(snapshot, ['queues']), h, decorations: app.queueRowDecorators.bind(snapshot, request) }
    if (!view.record) {
      // a queue no longer reported keeps its page while its history is kept
      const known = await app.history.exists('queue', params.service, params.queue).catch(() => null)
      if (known === null) return reply.code(503).viewAsync('queues/missing', { ...data, reason: 'redis' }, { layout: 'layout' })
      if (!known) return reply.code(404).viewAsync('queues/missing', { ...data, reason: 'unknown' }, { layout: 'layout' })
    }
    const jobs = view.record ? await liveJobsView(view.record, query.jobs, query.jobsPage) : null
    return reply.viewAsync('queues/queue-page', { ...data, jobs }, { layout: 'layout' })
  })

  routes.get('/queues/:service/:queue/fragments/summary', { schema: { params: queueParamsSchema } }, async (request, reply) => {
    const { params } = request
    const snapshot = app.collector.snapshot
    const fragment = await summaries(snapshot.version, `${params.service}:${params.queue}`, () =>
      app.view('queues/summary', { view: buildQueuePage(snapshot, params.service, params.queue, 1, '1h', app.queueFlagDecorators.bind(snapshot)), redis: readStatus(snapshot, ['queues']), h }),
    )
    return sendFragment(request, reply, fragment)
  })

  routes.get('/queues/:service/:queue/fragments/failed', { schema: { params: queueParamsSchema, querystring: queuePageQuerySchema } }, async (request, reply) => {
    const { params, query } = request
    const snapshot = app.collector.snapshot
    const view = buildQueuePage(snapshot, params.service, params.queue, query.page, query.range)
    if (!view.record) return notFound(reply, params.service, params.queue)
    const html = await app.view('queues/failed-jobs', { view, h, auth: authOf(reply), decorations: app.queueRowDecorators.bind(snapshot, request) })
    return sendFragment(request, reply, renderedFragment(html))
  })

  // the jobs of one state, page by page: read where they live (not from the snapshot), cached a few seconds
  routes.get('/queues/:service/:queue/fragments/jobs', { schema: { params: queueParamsSchema, querystring: liveJobsQuerySchema } }, async (request, reply) => {
    const { params, query } = request
    const record = findQueue(app.collector.snapshot, params.service, params.queue)
    if (!record) return notFound(reply, params.service, params.queue)
    const html = await app.view('queues/live-jobs', { jobs: await liveJobsView(record, query.state, query.page), h })
    return sendFragment(request, reply, renderedFragment(html))
  })

  routes.get('/api/pulse/queues/:service/:queue/jobs', { schema: { params: queueParamsSchema, querystring: jobsQuerySchema } }, async (request, reply) => {
    const { params, query } = request
    const record = findQueue(app.collector.snapshot, params.service, params.queue)
    if (!record) return notFound(reply, params.service, params.queue)
    // without a page, `failed` keeps the answer it always gave: the snapshot's newest failed jobs
    if (query.state === 'failed' && query.page === undefined) return { ...toJobsApi(record, 'failed'), source: 'snapshot' }
    return toLiveJobsApi(record, await app.liveJobs.list(record, query.state, query.page ?? 1))
  })

  /** A read that fails (Redis gone) is the region's error, not the page's. */
  async function liveJobsView(record: QueueRecord, state: LiveJobState, page: number) {
    const result = await app.liveJobs.list(record, state, page).catch((error: unknown) => ({
      jobs: [],
      state,
      page,
      pageSize: LIVE_JOBS_PAGE_SIZE,
      total: null,
      error: `the jobs could not be read: ${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'}`,
    }))
    return buildLiveJobsView(record, result)
  }
}

function notFound(reply: FastifyReply, service: string, queue: string) {
  return reply.code(404).send({ error: 'Not Found', message: `no queue ${service}/${queue} is reported` })
}

/** what the auth plugin put in reply.locals for this viewer (app.view does not merge locals itself) */
function authOf(reply: FastifyReply): unknown {
  return reply.locals?.auth ?? null
}
