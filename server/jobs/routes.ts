/**
 * `/jobs` (the search form and one page of results), `GET /api/jobs`, and one job's detail
 * `/jobs/{service}/{queue}/{id}` with `GET /api/jobs/{service}/{queue}/{id}`. A search reads the
 * archive and the live window per request (not the snapshot): both are bounded, and the live
 * window is shared by every search of one snapshot version. No answer of a list carries payloads.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ZodTypeProvider } from '../web/validate.js'
import type { Clock } from '../clock.js'
import { findQueue } from '../queues/service.js'
import { jobUrl, queueUrl } from '../http/urls.js'
import { parseJobQuery, renderJobQuery } from './query.js'
import { decodeCursor, encodeCursor, searchJobs, type JobRow, type JobSearchResult, type Position } from './search.js'
import { buildJobDetail } from './detail.js'
import { JOBS_PAGE_SIZE, jobParamsSchema, jobsApiQuerySchema, jobsPageQuerySchema } from './schemas.js'
import { jobsViewHelpers as h } from './view-helpers.js'
import type { JobSources } from './plugin.js'
import type { JobQuery } from '../archive/store.js'

export interface JobsRoutesOptions {
  clock: Clock
  sources: JobSources
}

export default async function jobsRoutes(app: FastifyInstance, { clock, sources }: JobsRoutesOptions) {
  const routes = app.withTypeProvider<ZodTypeProvider>()

  function search(query: JobQuery, after: Position | null, limit: number): Promise<JobSearchResult> {
    const snapshot = app.collector.snapshot
    const live = sources.liveWindow()
    return searchJobs({ store: sources.archiveStore(), liveWindow: live && ((records, states) => live(snapshot.version, records, states)), queues: sources.queues(snapshot) }, { query, after, limit })
  }

  routes.get('/jobs', { schema: { querystring: jobsPageQuerySchema } }, async (request, reply) => {
    const { q, cursor, limit } = request.query
    const base = { title: 'Jobs', section: 'Jobs', q, h, archive: await sources.settingsView() }
    const parsed = parseJobQuery(q, clock())
    const after = cursor === undefined ? null : decodeCursor(cursor)
    const error = !parsed.ok ? parsed.error : cursor !== undefined && !after ? 'that page link is not valid any more: search again' : null
    if (error || !parsed.ok) return reply.code(422).viewAsync('jobs/page', { ...base, error, result: null }, { layout: 'layout' })
    const result = await search(parsed.query, after, limit)
    const pageView = {
      rows: result.rows.map(withUrl),
      next: result.next ? pageHref(q, encodeCursor(result.next), limit) : null,
      first: cursor !== undefined ? pageHref(q, undefined, limit) : null,
      partial: result.partial,
      notes: result.notes,
      archive: result.archive,
    }
    return reply.viewAsync('jobs/page', { ...base, error: null, result: pageView, now: clock() }, { layout: 'layout' })
  })

  routes.get('/api/jobs', { schema: { querystring: jobsApiQuerySchema(clock) } }, async (request) => {
    const { q, cursor, limit } = request.query
    const result = await search(q.query, cursor, limit)
    return { query: renderJobQuery(q.query), rows: result.rows.map(toApiRow), next: result.next ? encodeCursor(result.next) : null, partial: result.partial, notes: result.notes, archive: result.archive }
  })

  async function detail(service: string, queue: string, id: string) {
    const record = findQueue(app.collector.snapshot, service, queue)
    const problems: string[] = []
    const reader = sources.liveJobs()
    const live = record && reader ? await reader.get(record, id).catch((error: unknown) => (problems.push(`the queue could not be read: ${messageOf(error)}`), null)) : null
    const store = sources.archiveStore()
    const archived = store ? await store.attempts(service, queue, id).catch((error: unknown) => (problems.push(`the archive could not be read: ${messageOf(error)}`), [])) : []
    if (!store && !sources.archiveOff()) problems.push(`the archive could not be read: ${(await sources.archiveProblem()) ?? 'it is not open'}`)
    return { record, view: buildJobDetail(service, queue, id, record, live, archived), problems, archive: sources.archiveOff() ? 'off' : 'on' }
  }

  routes.get('/jobs/:service/:queue/:jobId', { schema: { params: jobParamsSchema } }, async (request, reply) => {
    const { service, queue, jobId: id } = request.params
    const { record, view, problems, archive } = await detail(service, queue, id)
    const data = { title: `${id} · ${queue}`, section: 'Jobs', service, queue, jobId: id, view, problems, archive, queueHref: queueUrl(service, queue), h, now: clock(), auth: reply.locals?.auth ?? null }
    if (!view) return reply.code(problems.length > 0 ? 503 : 404).viewAsync('jobs/missing', data, { layout: 'layout' })
    const snapshot = app.collector.snapshot
    return reply.viewAsync('jobs/detail', { ...data, hasQueue: record !== null, decorations: app.queueRowDecorators.bind(snapshot, request) }, { layout: 'layout' })
  })

  routes.get('/api/jobs/:service/:queue/:jobId', { schema: { params: jobParamsSchema } }, async (request, reply) => {
    const { service, queue, jobId: id } = request.params
    const { view, problems } = await detail(service, queue, id)
    if (!view) return notFound(reply, problems.length > 0 ? 503 : 404, problems[0] ?? `no job ${id} in ${service}/${queue}, live or archived`)
    const { readOnlyReason: _readOnly, ...job } = view
    return { ...job, problems }
  })
}

function withUrl(row: JobRow) {
  return { ...toApiRow(row), href: jobUrl(row.service, row.queue, row.jobId) }
}

/** A row as it leaves the console: the fields of JobRow only (never a payload, nor the store's seq). */
function toApiRow(row: JobRow) {
  return {
    origin: row.origin,
    service: row.service,
    queue: row.queue,
    jobId: row.jobId,
    name: row.name,
    state: row.state,
    attempt: row.attempt,
    at: row.at,
    addedAt: row.addedAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    durationMs: row.durationMs,
    failedReason: row.failedReason,
    appVersion: row.appVersion,
    nodeId: row.nodeId,
  }
}

function pageHref(q: string, cursor: string | undefined, limit: number): string {
  const params = new URLSearchParams()
  if (q) params.set('q', q)
  if (cursor) params.set('cursor', cursor)
  if (limit !== JOBS_PAGE_SIZE) params.set('limit', String(limit))
  const text = params.toString()
  return text ? `/jobs?${text}` : '/jobs'
}

function notFound(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).send({ error: status === 404 ? 'Not Found' : 'Service Unavailable', message })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? 'unknown error') : 'unknown error'
}
