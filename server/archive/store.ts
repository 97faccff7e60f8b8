/**
 * The job archive behind one narrow contract, so SQLite (the embedded default) and PostgreSQL
 * (replicas and scale) are interchangeable: the archiver writes through `upsert`, the jobs area
 * reads through `search` and `attempts`, retention runs `prune`. Nothing outside an engine's file
 * sees SQL.
 *
 * A row is one finished attempt, keyed by (service, queue, jobId, attempt): delivery is at least
 * once, so writing the same key again replaces the row and never adds one.
 */
import type { ArchiveState, QueueDriver } from '@gravito/quasar/protocol'

export interface ArchivedJob {
  service: string
  queue: string
  jobId: string
  attempt: number
  state: ArchiveState
  name: string | null
  driver: QueueDriver | null
  addedAt: number | null
  startedAt: number | null
  /** epoch ms; the archive's time axis (search order, retention) */
  finishedAt: number
  durationMs: number | null
  waitMs: number | null
  failedReason: string | null
  stack: string | null
  /** JSON text, bounded and redacted (see boundJobData) */
  data: string | null
  opts: string | null
  result: string | null
  appVersion: string | null
  nodeId: string
}

/** What a result list carries: never the payloads (data, opts, result) nor the stack. */
export type JobSummary = Omit<ArchivedJob, 'data' | 'opts' | 'result' | 'stack'>

/**
 * A parsed search (server/jobs/query.ts builds it from `?q=`). Every list is "any of"; different
 * fields are "all of". Empty or absent fields do not filter.
 */
export interface JobQuery {
  services?: string[]
  queues?: string[]
  names?: string[]
  /** archived rows are completed or failed; live states are answered from Redis */
  states?: string[]
  ids?: string[]
  versions?: string[]
  /** full-text phrase over the failed reason and stack (`error:"…"`) */
  error?: string
  /** `data.<path>:value`: the JSON value at path, compared as text */
  data?: { path: string[]; value: string }[]
  /** free words: each must occur in the name or the error text */
  words?: string[]
  /** finishedAt ≥ since, < until (epoch ms) */
  since?: number
  until?: number
}

/** Keyset position: the last row of the previous page (newest first: finishedAt, then seq, descending). */
export interface SearchCursor {
  finishedAt: number
  seq: number
}

export interface SearchPage {
  rows: (JobSummary & { seq: number })[]
  /** where the next page starts, or null on the last page */
  next: SearchCursor | null
  /** set when the engine stopped early (a bounded scan), with why, in plain words */
  partial?: string
}

/** Retention per state, as time and size caps; absent caps do not apply. */
export interface RetentionPolicy {
  /** keep rows of a state for this long (ms), by finishedAt */
  maxAgeMs: Partial<Record<ArchiveState, number>>
  /** when the archive is larger than this (bytes, the engine's estimate), the oldest rows go first */
  maxBytes?: number
}

export interface PruneResult {
  deleted: number
  /** more rows are due: call again (each call deletes at most one batch, so it never blocks long) */
  more: boolean
}

export interface ArchiveStats {
  rows: number
  /** the engine's estimate of its size on disk */
  bytes: number
  byState: Partial<Record<ArchiveState, number>>
  oldestFinishedAt: number | null
}

export interface ArchiveStore {
  readonly engine: 'sqlite' | 'postgres'
  /**
   * Which archive the rows land in, for the archiver's consumer group (streams.ts `archiveGroup`):
   * null for a shared database (PostgreSQL), which every console writing to it reads into through
   * one group; an SQLite file's own id, kept in the file, so that each file receives every record
   * (each replica has its own by default) and a restart on the same file resumes where it stopped.
   * Known once `open()` resolved.
   */
  readonly archiveId: string | null
  /** creates tables and indexes if missing; idempotent */
  open(): Promise<void>
  /** one transaction per call; the same key again replaces its row */
  upsert(records: readonly ArchivedJob[]): Promise<void>
  search(query: JobQuery, page: { limit: number; after?: SearchCursor }): Promise<SearchPage>
  /** every archived attempt of one job, oldest first; empty when unknown */
  attempts(service: string, queue: string, jobId: string): Promise<ArchivedJob[]>
  /** deletes at most `batch` rows that the policy no longer keeps */
  prune(policy: RetentionPolicy, now: number, batch: number): Promise<PruneResult>
  stats(): Promise<ArchiveStats>
  close(): Promise<void>
}
