/**
 * Hybrid job search: archived attempts from the archive store merged with the jobs still in the
 * queues (the live window), newest first, one keyset order over both.
 *
 * The order: newest `at` first (a live job's finish, else start, else when it was added; an
 * archived attempt's finish); at the same instant live rows come before archived ones; then live
 * rows by key and archived rows by their store sequence, both descending. A cursor is the last
 * row of a page in that order, so every match is on exactly one page while the data holds still.
 *
 * A job that is both live and archived shows once, as live. Rows never carry payloads (data,
 * options, result, stack): a list answer stays small whatever the jobs hold.
 */
import { z } from 'zod'
import { ARCHIVE_STATES } from '@gravito/quasar/protocol'
import type { ArchiveStore, JobQuery, JobSummary, SearchCursor, SearchPage } from '../archive/store.js'
import type { LiveJobState } from '../queues/live-jobs.js'
import type { QueueRecord } from '../queues/records.js'
import { liveKey, type LiveWindow, type LiveWindowJob } from './live-window.js'

export const JOB_ROW_ORIGINS = ['live', 'archived'] as const

export interface JobRow {
  origin: (typeof JOB_ROW_ORIGINS)[number]
  service: string
  queue: string
  jobId: string
  name: string | null
  state: string
  /** archived: the attempt this row is; live: attempts made so far */
  attempt: number | null
  /** the row's place in time (see the order above) */
  at: number
  addedAt: number | null
  startedAt: number | null
  finishedAt: number | null
  durationMs: number | null
  failedReason: string | null
  appVersion: string | null
  nodeId: string | null
}

export type Position = { at: number; origin: 'live'; key: string } | { at: number; origin: 'archived'; seq: number }

/** The states searched live when the query names none: the ones a person looks for in a queue. */
export const DEFAULT_LIVE_STATES: readonly LiveJobState[] = ['waiting', 'active', 'delayed', 'failed']
const LIVE_ONLY_STATES: readonly LiveJobState[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused', 'failed', 'completed']

export interface JobSearchInput {
  query: JobQuery
  after: Position | null
  limit: number
}

export interface JobSearchSources {
  /** null: the archive is off, or could not be opened (`archiveProblem` says why) */
  store: ArchiveStore | null
  /** why an archive that is on has no store: the search is then partial */
  archiveProblem?: string | null
  /** null: this console cannot read live jobs */
  liveWindow: ((records: readonly QueueRecord[], states: readonly LiveJobState[]) => Promise<LiveWindow>) | null
  /** the queues of the latest snapshot */
  queues: readonly QueueRecord[]
}

export interface JobSearchResult {
  rows: JobRow[]
  next: Position | null
  /** set when a bound stopped the search early: what was left out */
  partial: string[]
  /** what this search could not look at, and why (archive off, a qualifier the live half cannot answer) */
  notes: string[]
  archive: 'on' | 'off'
}

/** Archive batches fetched per page while skipping attempts of jobs shown as live. */
const MAX_ARCHIVE_ROUNDS = 6

export async function searchJobs(sources: JobSearchSources, input: JobSearchInput): Promise<JobSearchResult> {
  const { query, after, limit } = input
  const partial: string[] = []
  const notes: string[] = []

  const live = await liveRows(sources, query, partial, notes)
  const liveAfter = after ? live.filter((row) => comesBefore(after, positionOf(row))) : live
  const shownLive = new Set(live.map((row) => liveKey(row.service, row.queue, row.jobId)))

  const archiveStates = query.states ? query.states.filter((state) => (ARCHIVE_STATES as readonly string[]).includes(state)) : ARCHIVE_STATES
  if (!sources.store && sources.archiveProblem) partial.push(`the archive could not be searched (${sources.archiveProblem}): only jobs still in their queues were`)
  else if (!sources.store) notes.push('the archive is off: only jobs still in their queues were searched')
  const archive = sources.store && archiveStates.length > 0 ? new ArchiveRows(sources.store, query, archiveCursor(after), limit + 1, shownLive) : null

  const rows: JobRow[] = []
  let next: Position | null = null
  let li = 0
  while (rows.length < limit) {
    const head = archive ? await archive.peek() : 'end'
    const liveHead = liveAfter[li]
    if (head === 'stopped') {
      // every archived row up to the stop was shown or skipped: live rows before it are safe to show
      const stop = archive!.lastScanned!
      if (liveHead && comesBefore(positionOf(liveHead), stop)) {
        rows.push(liveHead)
        li++
        continue
      }
      next = stop
      partial.push(`many archived attempts of jobs shown as live were skipped; the next page goes on from there`)
      break
    }
    if (liveHead && (head === 'end' || comesBefore(positionOf(liveHead), positionOf(head)))) {
      rows.push(liveHead)
      li++
    } else if (head !== 'end') rows.push(archive!.take())
    else break
  }
  if (!next && rows.length === limit) {
    const more = li < liveAfter.length || (archive ? (await archive.peek()) !== 'end' : false)
    if (more) next = positionOf(rows[rows.length - 1]!)
  }
  if (archive?.partial) partial.push(`archive: ${archive.partial}`)
  return { rows, next, partial, notes, archive: sources.store ? 'on' : 'off' }
}

/** The live rows that match, newest first, or none when the query cannot match a live job. */
async function liveRows(sources: JobSearchSources, query: JobQuery, partial: string[], notes: string[]): Promise<JobRow[]> {
  if (!sources.liveWindow) {
    notes.push('live jobs cannot be read here: only the archive was searched')
    return []
  }
  if (query.versions?.length || query.data?.length) {
    notes.push('version: and data. qualifiers search the archive only (a live list carries no data)')
    return []
  }
  const states = liveStates(query, sources.store !== null)
  if (states.length === 0) return []
  const records = sources.queues.filter((record) => (!query.services || query.services.includes(record.service)) && (!query.queues || query.queues.includes(record.name)))
  if (records.length === 0) return []
  const window = await sources.liveWindow(records, states)
  partial.push(...window.partial)
  return window.jobs
    .map(toLiveRow)
    .filter((row) => matchesLive(query, row))
    .sort((a, b) => (comesBefore(positionOf(a), positionOf(b)) ? -1 : 1))
}

function liveStates(query: JobQuery, archiveOn: boolean): LiveJobState[] {
  if (!query.states) return [...DEFAULT_LIVE_STATES]
  // completed jobs left in a queue are in the archive too; read them live only when it is off
  return LIVE_ONLY_STATES.filter((state) => query.states!.includes(state) && !(state === 'completed' && archiveOn))
}

function toLiveRow(job: LiveWindowJob): JobRow {
  return {
    origin: 'live',
    service: job.service,
    queue: job.queue,
    jobId: job.id,
    name: job.name,
    state: job.state,
    attempt: job.attemptsMade,
    at: job.finishedAt ?? job.startedAt ?? job.addedAt ?? 0,
    addedAt: job.addedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    durationMs: job.finishedAt !== null && job.startedAt !== null ? Math.max(0, job.finishedAt - job.startedAt) : null,
    failedReason: job.failedReason ?? null,
    appVersion: null,
    nodeId: null,
  }
}

/** The query applied to a live row in memory, as the stores apply it to archived rows. */
export function matchesLive(query: JobQuery, row: JobRow): boolean {
  if (query.services && !query.services.includes(row.service)) return false
  if (query.queues && !query.queues.includes(row.queue)) return false
  if (query.names && (row.name === null || !query.names.includes(row.name))) return false
  if (query.states && !query.states.includes(row.state)) return false
  if (query.ids && !query.ids.includes(row.jobId)) return false
  if (query.since !== undefined && row.at < query.since) return false
  if (query.until !== undefined && row.at >= query.until) return false
  const reason = (row.failedReason ?? '').toLowerCase()
  if (query.error !== undefined && !reason.includes(query.error.toLowerCase())) return false
  if (query.words) {
    const text = `${row.name ?? ''}\n${reason}`.toLowerCase()
    if (!query.words.every((word) => text.includes(word.toLowerCase()))) return false
  }
  return true
}

function toArchivedRow(job: JobSummary & { seq: number }): JobRow & { seq: number } {
  return {
    origin: 'archived',
    service: job.service,
    queue: job.queue,
    jobId: job.jobId,
    name: job.name,
    state: job.state,
    attempt: job.attempt,
    at: job.finishedAt,
    addedAt: job.addedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    durationMs: job.durationMs,
    failedReason: job.failedReason,
    appVersion: job.appVersion,
    nodeId: job.nodeId,
    seq: job.seq,
  }
}

/** Archived rows after a position, fetched in batches, skipping attempts of jobs shown live. */
class ArchiveRows {
  private buffer: (JobRow & { seq: number })[] = []
  private cursor: SearchCursor | undefined
  private exhausted = false
  private rounds = 0
  lastScanned: Position | null = null
  partial: string | undefined

  constructor(
    private readonly store: ArchiveStore,
    private readonly query: JobQuery,
    after: SearchCursor | undefined,
    private readonly batch: number,
    private readonly skip: ReadonlySet<string>,
  ) {
    this.cursor = after
  }

  async peek(): Promise<(JobRow & { seq: number }) | 'end' | 'stopped'> {
    while (this.buffer.length === 0) {
      if (this.exhausted) return 'end'
      if (this.rounds >= MAX_ARCHIVE_ROUNDS) return 'stopped'
      this.rounds++
      let page: SearchPage
      try {
        page = await this.store.search(this.query, { limit: this.batch, ...(this.cursor ? { after: this.cursor } : {}) })
      } catch (error) {
        // the live half still answers; the page says the archive did not
        this.partial = `could not be searched (${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'})`
        this.exhausted = true
        return 'end'
      }
      if (page.partial) this.partial = page.partial
      for (const summary of page.rows) {
        const row = toArchivedRow(summary)
        this.lastScanned = positionOf(row)
        if (!this.skip.has(liveKey(row.service, row.queue, row.jobId))) this.buffer.push(row)
      }
      if (page.next) this.cursor = page.next
      else this.exhausted = true
    }
    return this.buffer[0]!
  }

  /** the row keeps its `seq`: a page's cursor may be made from it */
  take(): JobRow & { seq: number } {
    return this.buffer.shift()!
  }
}

export function positionOf(row: JobRow & { seq?: number }): Position {
  return row.origin === 'live' ? { at: row.at, origin: 'live', key: liveKey(row.service, row.queue, row.jobId) } : { at: row.at, origin: 'archived', seq: row.seq ?? 0 }
}

/** Whether `a` is listed before `b` (newest first). */
export function comesBefore(a: Position, b: Position): boolean {
  if (a.at !== b.at) return a.at > b.at
  if (a.origin !== b.origin) return a.origin === 'live'
  if (a.origin === 'live' && b.origin === 'live') return a.key > b.key
  return (a as { seq: number }).seq > (b as { seq: number }).seq
}

/** Where the archive goes on after a position: past an archived row, or past every row of a live row's instant that is archived. */
function archiveCursor(after: Position | null): SearchCursor | undefined {
  if (!after) return undefined
  return after.origin === 'archived' ? { finishedAt: after.at, seq: after.seq } : { finishedAt: after.at, seq: Number.MAX_SAFE_INTEGER }
}

const positionSchema = z.union([z.tuple([z.number().int().nonnegative(), z.literal('l'), z.string().max(4096)]), z.tuple([z.number().int().nonnegative(), z.literal('a'), z.number().int().nonnegative()])])

/** A position as an opaque URL-safe cursor. */
export function encodeCursor(position: Position): string {
  const tuple = position.origin === 'live' ? [position.at, 'l', position.key] : [position.at, 'a', position.seq]
  return Buffer.from(JSON.stringify(tuple)).toString('base64url')
}

export function decodeCursor(text: string): Position | null {
  try {
    const parsed = positionSchema.safeParse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')))
    if (!parsed.success) return null
    const [at, origin, rest] = parsed.data
    return origin === 'l' ? { at, origin: 'live', key: rest } : { at, origin: 'archived', seq: rest }
  } catch {
    return null
  }
}
