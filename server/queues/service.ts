/**
 * View models for the queues table, the queue page and the queues API. Pure functions of the
 * snapshot and the validated query: no request, no Redis.
 */
import { FAILED_JOB_LIMITS, type FailedJob, type QueueDriver } from '@gravito/quasar/protocol'
import type { Snapshot } from '../collector/snapshot.js'
import { queueUrl } from '../http/urls.js'
import { buildQueueCharts, type QueueChartsView } from '../history/service.js'
import type { Range } from '../history/metrics.js'
import { byServiceThenName, isReadOnly, type QueueRecord } from './records.js'
import { naturalCompare } from '../web/natural-sort.js'
import type { QueueSort, QueuesQuery, SortDir } from './schemas.js'
import { readStatus, type ReadStatus } from '../collector/part-status.js'
import { NO_FLAGS, type QueueFlag, type QueueFlagLookup } from './flags.js'

/** rows rendered in one table; rendering is the console's bottleneck, and filters narrow the rest */
export const TABLE_LIMIT = 500
export const JOBS_PER_PAGE = 10

export function queuesOf(snapshot: Snapshot): readonly QueueRecord[] {
  return snapshot.queues?.items ?? []
}

/** the queue page's URL, under the name the command views know it by */
export { queueUrl as queuePath } from '../http/urls.js'

/* ---- the table ------------------------------------------------------------------------------ */

const TEXT_SORTS: ReadonlySet<QueueSort> = new Set(['service', 'name', 'driver'])

/** Text columns sort A→Z by default, counts largest first. */
export function defaultDir(sort: QueueSort): SortDir {
  return TEXT_SORTS.has(sort) ? 'asc' : 'desc'
}

function sortValue(record: QueueRecord, sort: QueueSort): string | number | null {
  switch (sort) {
    case 'service':
    case 'name':
    case 'driver':
      return record[sort]
    case 'oldest':
      return record.oldestWaitingMs ?? null
    default:
      return record[sort] ?? null
  }
}

/** Sorted by the column, then by service and name; unknown values (null) last in both directions. */
export function sortQueues(records: readonly QueueRecord[], sort: QueueSort, dir: SortDir): QueueRecord[] {
  const sign = dir === 'asc' ? 1 : -1
  return [...records].sort((a, b) => {
    const x = sortValue(a, sort)
    const y = sortValue(b, sort)
    if (x !== y) {
      if (x === null) return 1
      if (y === null) return -1
      return (typeof x === 'string' && typeof y === 'string' ? naturalCompare(x, y) : x < y ? -1 : 1) * sign
    }
    return byServiceThenName(a, b)
  })
}

export function filterQueues(records: readonly QueueRecord[], query: Pick<QueuesQuery, 'service' | 'driver'>): QueueRecord[] {
  return records.filter((r) => (!query.service || r.service === query.service) && (!query.driver || r.driver === query.driver))
}

export interface SortColumn {
  key: QueueSort
  label: string
  numeric: boolean
  href: string
  /** for aria-sort */
  current: 'ascending' | 'descending' | null
}

const COLUMNS: [QueueSort, string][] = [
  ['service', 'service'],
  ['name', 'queue'],
  ['driver', 'driver'],
  ['waiting', 'waiting'],
  ['active', 'active'],
  ['delayed', 'delayed'],
  ['failed', 'failed'],
  ['throughput', 'jobs/s'],
  ['oldest', 'oldest waiting'],
]

/** `/queues?…` (or the fragment URL) with the filter and sort of `query`; empty values left out. */
export function queuesHref(base: string, query: Partial<QueuesQuery>): string {
  const params = new URLSearchParams()
  if (query.service) params.set('service', query.service)
  if (query.driver) params.set('driver', query.driver)
  if (query.sort && query.sort !== 'service') params.set('sort', query.sort)
  if (query.dir && query.dir !== defaultDir(query.sort ?? 'service')) params.set('dir', query.dir)
  const text = params.toString()
  return text ? `${base}?${text}` : base
}

/* ---- what needs a look ------------------------------------------------------------------------ */

/** A job waiting this long is highlighted (Horizon's default long-wait threshold). */
export const LONG_WAIT_MS = 60_000
/** This many jobs waiting (or held by a pause) is highlighted as a backlog (the default backlog rule's line). */
export const BACKLOG_JOBS = 1_000

export interface QueueAttention {
  /** the oldest waiting job is older than LONG_WAIT_MS, or a queue_wait alert fires */
  longWait: boolean
  /** over BACKLOG_JOBS jobs waiting, or a queue_backlog alert fires */
  backlog: boolean
  /** the alerts firing for this queue */
  flags: readonly QueueFlag[]
}

/**
 * Whether a queue wants a look: past the fixed lines above (so a console without rules still
 * shows them), or because an alert rule fires for it (so a rule's own line, lower or higher, shows).
 */
export function attentionOf(record: Pick<QueueRecord, 'service' | 'name' | 'waiting' | 'paused' | 'oldestWaitingMs'>, flags: QueueFlagLookup = NO_FLAGS): QueueAttention {
  const firing = flags(record.service, record.name)
  const jobs = (record.waiting ?? 0) + (record.paused ?? 0)
  return {
    longWait: (record.oldestWaitingMs ?? 0) >= LONG_WAIT_MS || firing.some((flag) => flag.metric === 'queue_wait'),
    backlog: jobs >= BACKLOG_JOBS || firing.some((flag) => flag.metric === 'queue_backlog'),
    flags: firing,
  }
}

export interface QueuesView {
  generatedAt: number
  redis: ReadStatus
  query: QueuesQuery & { dir: SortDir }
  serviceNames: string[]
  drivers: QueueDriver[]
  columns: SortColumn[]
  rows: (QueueRecord & { href: string; attention: QueueAttention })[]
  /** queues matching the filter (rows holds at most TABLE_LIMIT of them) */
  total: number
  /** queues known at all, before the filter: 0 shows the "how to get queues in" state */
  known: number
  fragmentUrl: string
}

export const TABLE_FRAGMENT_URL = '/fragments/queues/table'

export function buildQueuesView(snapshot: Snapshot, input: QueuesQuery, flags: QueueFlagLookup = NO_FLAGS): QueuesView {
  const all = queuesOf(snapshot)
  const dir = input.dir ?? defaultDir(input.sort)
  const query = { ...input, dir }
  const matching = sortQueues(filterQueues(all, query), query.sort, dir)
  return {
    generatedAt: snapshot.generatedAt,
    redis: readStatus(snapshot, ['queues']),
    query,
    serviceNames: [...new Set(all.map((r) => r.service))].sort(naturalCompare),
    drivers: [...new Set(all.map((r) => r.driver))].sort(naturalCompare),
    columns: COLUMNS.map(([key, label]) => {
      const current = query.sort === key
      const nextDir: SortDir = current ? (dir === 'asc' ? 'desc' : 'asc') : defaultDir(key)
      return {
        key,
        label,
        numeric: !TEXT_SORTS.has(key),
        href: queuesHref('/queues', { ...query, sort: key, dir: nextDir }),
        current: current ? (dir === 'asc' ? 'ascending' : 'descending') : null,
      }
    }),
    rows: matching.slice(0, TABLE_LIMIT).map((r) => ({ ...r, href: queueUrl(r.service, r.name), attention: attentionOf(r, flags) })),
    total: matching.length,
    known: all.length,
    fragmentUrl: queuesHref(TABLE_FRAGMENT_URL, query),
  }
}

/** `GET /api/pulse/queues`: counts only; failed jobs have their own endpoint. */
export function toQueuesApi(snapshot: Snapshot, query: QueuesQuery) {
  const dir = query.dir ?? defaultDir(query.sort)
  return {
    generatedAt: snapshot.generatedAt,
    queues: sortQueues(filterQueues(queuesOf(snapshot), query), query.sort, dir).map(toApiQueue),
  }
}

function toApiQueue(r: QueueRecord) {
  return {
    service: r.service,
    name: r.name,
    ...(r.prefix === undefined ? {} : { prefix: r.prefix }),
    driver: r.driver,
    waiting: r.waiting,
    active: r.active,
    delayed: r.delayed,
    failed: r.failed,
    ...(r.completed === undefined ? {} : { completed: r.completed }),
    ...(r.paused === undefined ? {} : { paused: r.paused }),
    ...(r.isPaused === undefined ? {} : { isPaused: r.isPaused }),
    ...(r.waitingChildren === undefined ? {} : { waitingChildren: r.waitingChildren }),
    ...(r.rateLimitedMs === undefined ? {} : { rateLimitedMs: r.rateLimitedMs }),
    ...(r.processed === undefined ? {} : { processed: r.processed }),
    ...(r.oldestWaitingMs === undefined ? {} : { oldestWaitingMs: r.oldestWaitingMs }),
    ...(r.throughput === undefined ? {} : { throughput: r.throughput }),
    source: r.source,
    readOnly: isReadOnly(r),
    commands: r.commands,
    ...(r.readOnlyReason === undefined ? {} : { readOnlyReason: r.readOnlyReason }),
    ...(r.nodeId === undefined ? {} : { nodeId: r.nodeId }),
    ...(r.error === undefined ? {} : { error: r.error }),
    ...(r.skipped === undefined ? {} : { skipped: r.skipped, skippedTotal: r.skippedTotal ?? r.skipped.length }),
    timestamp: r.timestamp,
  }
}

/* ---- one queue -------------------------------------------------------------------------------- */

export function findQueue(snapshot: Snapshot, service: string, name: string): QueueRecord | null {
  return queuesOf(snapshot).find((r) => r.service === service && r.name === name) ?? null
}

export interface FailedJobView extends FailedJob {
  /** the payload pretty-printed when it is JSON, else as sent */
  payload: string | null
}

export interface QueuePageView {
  service: string
  queue: string
  /** null when the queue is no longer reported (only its history is left) */
  record: QueueRecord | null
  /** null with the record */
  attention: QueueAttention | null
  generatedAt: number
  jobs: FailedJobView[]
  /** failed jobs held in the snapshot (the newest, at most FAILED_JOB_LIMITS.page) */
  jobsKept: number
  page: number
  pages: number
  pageHref: (page: number) => string
  charts: QueueChartsView
  summaryUrl: string
  failedUrl: string
}

export function buildQueuePage(snapshot: Snapshot, service: string, queue: string, requestedPage: number, range: Range, flags: QueueFlagLookup = NO_FLAGS): QueuePageView {
  const record = findQueue(snapshot, service, queue)
  const path = queueUrl(service, queue)
  const kept = record?.failedJobs ?? []
  const pages = Math.max(1, Math.ceil(kept.length / JOBS_PER_PAGE))
  const page = Math.min(requestedPage, pages)
  const pageHref = (n: number) => (n === 1 ? path : `${path}?page=${n}`)
  return {
    service,
    queue,
    record,
    attention: record ? attentionOf(record, flags) : null,
    generatedAt: snapshot.generatedAt,
    jobs: kept.slice((page - 1) * JOBS_PER_PAGE, page * JOBS_PER_PAGE).map(toJobView),
    jobsKept: kept.length,
    page,
    pages,
    pageHref,
    charts: buildQueueCharts(service, queue, range, path),
    summaryUrl: `${path}/fragments/summary`,
    failedUrl: `${path}/fragments/failed${page === 1 ? '' : `?page=${page}`}`,
  }
}

function toJobView(job: FailedJob): FailedJobView {
  return { ...job, payload: job.data === undefined ? null : prettyPayload(job.data) }
}

/** JSON payloads indented for reading; anything else (or a cut payload) shown as it is. */
export function prettyPayload(data: string): string {
  if (data.length > FAILED_JOB_LIMITS.data * 2) return data
  try {
    return JSON.stringify(JSON.parse(data), null, 2) ?? data
  } catch {
    return data
  }
}

/** `GET /api/pulse/queues/{service}/{queue}/jobs?state=failed` */
export function toJobsApi(record: QueueRecord, state: 'failed') {
  return {
    service: record.service,
    queue: record.name,
    state,
    /** how many jobs have failed in all; `jobs` holds the newest of them */
    total: record.failed,
    jobs: record.failedJobs ?? [],
  }
}
