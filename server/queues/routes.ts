/**
 * `/queues` (table of every queue), the queue page `/queues/{service}/{queue}`, their fragments, and
 * the JSON API. Everything comes from the latest snapshot: a viewer costs no Redis command, except
 * the queue page of a queue no longer reported, which asks the history store whether it ever was.
 * The failed-jobs region carries the command buttons, which depend on the viewer (role, CSRF
 * token), so it is rendered per request; the table and the counts are rendered once per snapshot.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { parseOr400 } from '../http/validate.js'
import { createFragmentCache, renderedFragment } from '../render/fragment-cache.js'
import { sendFragment } from '../render/send-fragment.js'
import { registerPolledPage } from '../render/polled-page.js'
import { jobsQuerySchema, queuePageQuerySchema, queueParamsSchema, queuesQuerySchema, type QueuesQuery } from './schemas.js'
import { buildQueuePage, buildQueuesView, findQueue, TABLE_FRAGMENT_URL, toJobsApi, toQueuesApi } from './service.js'
import { queueViewHelpers as h } from './view-helpers.js'
import { readStatus } from '../collector/part-status.js'

export default async function queuesRoutes(app: FastifyInstance) {
  const summaries = createFragmentCache()
  const apiAnswers = createFragmentCache()
  const tableKey = (query: QueuesQuery) => [query.service, query.driver, query.sort, query.dir].join('|')

  registerPolledPage(app, {
    page: { url: '/queues', template: 'queues/page', title: 'Queues' },
    fragment: { url: TABLE_FRAGMENT_URL, template: 'queues/table' },
    query: queuesQuerySchema,
    cacheKey: tableKey,
    build: buildQueuesView,
    helpers: h,
  })

  app.get('/api/pulse/queues', async (request, reply) => {
    const query = parseOr400(queuesQuerySchema, request.query, reply)
    if (!query) return reply
    // cached per snapshot like the fragments: pollers between two ticks share one serialisation
    const snapshot = app.collector.snapshot
    const answer = await apiAnswers(snapshot.version, tableKey(query), async () => JSON.stringify(toQueuesApi(snapshot, query)))
    return sendFragment(request, reply, answer, 'application/json; charset=utf-8')
  })

  app.get('/queues/:service/:queue', async (request, reply) => {
    const params = parseOr400(queueParamsSchema, request.params, reply)
    if (!params) return reply
    const query = parseOr400(queuePageQuerySchema, request.query, reply)
    if (!query) return reply
    const snapshot = app.collector.snapshot
    const view = buildQueuePage(snapshot, params.service, params.queue, query.page, query.range)
    const data = { title: `${params.queue} · ${params.service}`, section: 'Queues', view, redis: readStatus(snapshot, ['queues']), h }
    if (!view.record) {
      // a queue no longer reported keeps its page while its history is kept
      const known = await app.history.exists('queue', params.service, params.queue).catch(() => null)
      if (known === null) return reply.code(503).viewAsync('queues/missing', { ...data, reason: 'redis' }, { layout: 'layout' })
      if (!known) return reply.code(404).viewAsync('queues/missing', { ...data, reason: 'unknown' }, { layout: 'layout' })
    }
    return reply.viewAsync('queues/queue-page', data, { layout: 'layout' })
  })

  app.get('/queues/:service/:queue/fragments/summary', async (request, reply) => {
    const params = parseOr400(queueParamsSchema, request.params, reply)
    if (!params) return reply
    const snapshot = app.collector.snapshot
    const fragment = await summaries(snapshot.version, `${params.service}:${params.queue}`, () =>
      app.view('queues/summary', { view: buildQueuePage(snapshot, params.service, params.queue, 1, '1h'), redis: readStatus(snapshot, ['queues']), h }),
    )
    return sendFragment(request, reply, fragment)
  })

  app.get('/queues/:service/:queue/fragments/failed', async (request, reply) => {
    const params = parseOr400(queueParamsSchema, request.params, reply)
    if (!params) return reply
    const query = parseOr400(queuePageQuerySchema, request.query, reply)
    if (!query) return reply
    const view = buildQueuePage(app.collector.snapshot, params.service, params.queue, query.page, query.range)
    if (!view.record) return notFound(reply, params.service, params.queue)
    const html = await app.view('queues/failed-jobs', { view, h, auth: authOf(reply) })
    return sendFragment(request, reply, renderedFragment(html))
  })

  app.get('/api/pulse/queues/:service/:queue/jobs', async (request, reply) => {
    const params = parseOr400(queueParamsSchema, request.params, reply)
    if (!params) return reply
    const query = parseOr400(jobsQuerySchema, request.query, reply)
    if (!query) return reply
    const record = findQueue(app.collector.snapshot, params.service, params.queue)
    if (!record) return notFound(reply, params.service, params.queue)
    return toJobsApi(record, query.state)
  })
}

function notFound(reply: FastifyReply, service: string, queue: string) {
  return reply.code(404).send({ error: 'Not Found', message: `no queue ${service}/${queue} is reported` })
}

/** what the auth plugin put in reply.locals for this viewer (app.view does not merge locals itself) */
function authOf(reply: FastifyReply): unknown {
  return reply.locals?.auth ?? null
}
