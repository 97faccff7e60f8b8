/**
 * The queue page's Jobs region and the jobs API, from a page of live jobs: the state tabs with
 * their counts (from the snapshot's record), the rows (each linking to the job's detail page), and
 * the pager. Pure: the page was read before, by `app.liveJobs`.
 */
import { jobUrl, queueUrl } from '../http/urls.js'
import type { LiveJob, LiveJobPage, LiveJobState } from './live-jobs.js'
import type { QueueRecord } from './records.js'

/** The states each driver can list, in the order the tabs show them. */
const LISTED: Record<string, readonly LiveJobState[]> = {
  bullmq: ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'paused', 'completed', 'failed'],
  laravel: ['waiting', 'active', 'delayed'],
}

const LABELS: Record<LiveJobState, string> = {
  waiting: 'Waiting',
  prioritized: 'Prioritized',
  active: 'Active',
  delayed: 'Delayed',
  'waiting-children': 'Waiting children',
  paused: 'Paused',
  completed: 'Completed',
  failed: 'Failed',
}

export function listedStates(record: Pick<QueueRecord, 'driver'>): readonly LiveJobState[] {
  return LISTED[record.driver] ?? []
}

/** The record's count of a state, when the snapshot has one (prioritized jobs are counted in waiting). */
function countOf(record: QueueRecord, state: LiveJobState): number | null {
  const counts: Partial<Record<LiveJobState, number | null | undefined>> = {
    waiting: record.waiting,
    active: record.active,
    delayed: record.delayed,
    failed: record.failed,
    completed: record.completed,
    paused: record.paused,
    'waiting-children': record.waitingChildren,
  }
  return counts[state] ?? null
}

export function jobsFragmentUrl(service: string, queue: string, state: LiveJobState, page: number): string {
  return `${queueUrl(service, queue)}/fragments/jobs?state=${state}${page === 1 ? '' : `&page=${page}`}`
}

export function jobsPageUrl(service: string, queue: string, state: LiveJobState, page: number): string {
  return `${queueUrl(service, queue)}?jobs=${state}${page === 1 ? '' : `&jobsPage=${page}`}#jobs`
}

export interface LiveJobRow extends LiveJob {
  url: string
}

export interface LiveJobsView {
  service: string
  queue: string
  state: LiveJobState
  /** the fragment that renders this region (htmx polls and pages through it) */
  url: string
  tabs: { state: LiveJobState; label: string; count: number | null; current: boolean; href: string; fragment: string }[]
  rows: LiveJobRow[]
  page: number
  pageSize: number
  total: number | null
  pages: number | null
  first: number
  last: number
  previous: { href: string; fragment: string } | null
  next: { href: string; fragment: string } | null
  error: string | null
}

export function buildLiveJobsView(record: QueueRecord, result: LiveJobPage): LiveJobsView {
  const { service, name: queue } = record
  const link = (state: LiveJobState, page: number) => ({ href: jobsPageUrl(service, queue, state, page), fragment: jobsFragmentUrl(service, queue, state, page) })
  // BullMQ 5 keeps a paused queue's jobs in `wait`: the paused list only fills under older versions
  // an agent that cannot be asked (an older SDK) shows only the failed jobs its snapshot carries
  const listable = record.source === 'agent' && !record.listsJobs ? (['failed'] as const) : listedStates(record)
  const states = listable.filter((state) => state !== 'paused' || (record.paused ?? 0) > 0)
  const tabs = (states.includes(result.state) ? states : [...states, result.state]).map((state) => ({
    state,
    label: LABELS[state],
    // the page's own total is newer than the snapshot's count
    count: state === result.state && result.total !== null ? result.total : countOf(record, state),
    current: state === result.state,
    ...link(state, 1),
  }))
  const pages = result.total === null ? null : Math.max(1, Math.ceil(result.total / result.pageSize))
  const first = (result.page - 1) * result.pageSize
  const hasNext = pages === null ? result.jobs.length >= result.pageSize : result.page < pages
  return {
    service,
    queue,
    state: result.state,
    url: jobsFragmentUrl(service, queue, result.state, result.page),
    tabs,
    rows: result.jobs.map((job) => ({ ...job, url: jobUrl(service, queue, job.id) })),
    page: result.page,
    pageSize: result.pageSize,
    total: result.total,
    pages,
    first: result.jobs.length === 0 ? first : first + 1,
    last: first + result.jobs.length,
    previous: result.page > 1 ? link(result.state, result.page - 1) : null,
    next: hasNext ? link(result.state, result.page + 1) : null,
    error: result.error ?? null,
  }
}

/** `GET /api/pulse/queues/{service}/{queue}/jobs?state=&page=`: the page as read, rows without payloads. */
export function toLiveJobsApi(record: QueueRecord, result: LiveJobPage) {
  return {
    service: record.service,
    queue: record.name,
    state: result.state,
    source: 'live' as const,
    page: result.page,
    pageSize: result.pageSize,
    total: result.total,
    jobs: result.jobs,
    ...(result.error === undefined ? {} : { error: result.error }),
  }
}
