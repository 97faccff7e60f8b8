/**
 * The embedded archive engine: one SQLite file (WAL, synchronous=NORMAL) in the data folder, one
 * writer (this process). better-sqlite3 is synchronous and runs on the console's event loop, so
 * every call is kept short: the archiver hands over bounded batches, a search reads a bounded page
 * or window (sqlite-search.ts), and `prune` deletes at most one batch per call.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Sqlite from 'better-sqlite3'
import type { Database, Statement } from 'better-sqlite3'
import { ARCHIVE_STATES } from '@gravito/quasar/protocol'
import type { ArchivedJob, ArchiveStats, ArchiveStore, JobQuery, PruneResult, RetentionPolicy, SearchCursor, SearchPage } from './store.js'
import { configureConnection, createSchema } from './sqlite-schema.js'
import { DEFAULT_SEARCH_BOUNDS, SqliteSearch, type SearchBounds } from './sqlite-search.js'

export interface SqliteStoreOptions {
  /** bounds of one search (see sqlite-search.ts); tests shrink them to reach the partial paths */
  search?: Partial<SearchBounds>
}

/** Most attempts `attempts()` returns for one job (BullMQ's attempts are far fewer in practice). */
const MAX_ATTEMPTS = 1_000

/** Rows upserted between two refreshes of the planner's statistics. */
const ROWS_PER_OPTIMIZE = 200_000

const UPSERT = `INSERT INTO jobs (service, queue, job_id, attempt, state, name, driver, added_at, started_at, finished_at, duration_ms, wait_ms, failed_reason, stack, data, opts, result, app_version, node_id)
  VALUES (@service, @queue, @jobId, @attempt, @state, @name, @driver, @addedAt, @startedAt, @finishedAt, @durationMs, @waitMs, @failedReason, @stack, @data, @opts, @result, @appVersion, @nodeId)
  ON CONFLICT (job_id, service, queue, attempt) DO UPDATE SET
    state = excluded.state, name = excluded.name, driver = excluded.driver, added_at = excluded.added_at, started_at = excluded.started_at,
    finished_at = excluded.finished_at, duration_ms = excluded.duration_ms, wait_ms = excluded.wait_ms, failed_reason = excluded.failed_reason,
    stack = excluded.stack, data = excluded.data, opts = excluded.opts, result = excluded.result, app_version = excluded.app_version, node_id = excluded.node_id`

const ATTEMPTS = `SELECT service, queue, job_id AS jobId, attempt, state, name, driver, added_at AS addedAt, started_at AS startedAt, finished_at AS finishedAt,
  duration_ms AS durationMs, wait_ms AS waitMs, failed_reason AS failedReason, stack, data, opts, result, app_version AS appVersion, node_id AS nodeId
  FROM jobs WHERE job_id = ? AND service = ? AND queue = ? ORDER BY attempt LIMIT ${MAX_ATTEMPTS}`

/** Opens (and creates, with its folder) the archive file at `path`; `:memory:` keeps it in memory. Call `open()` before use. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteArchiveStore {
  if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true })
  return new SqliteArchiveStore(new Sqlite(path), options)
}

export class SqliteArchiveStore implements ArchiveStore {
  readonly engine = 'sqlite' as const
  private searcher: SqliteSearch | null = null
  private statements: { upsert: Statement; attempts: Statement } | null = null
  private rowsSinceOptimize = 0

  constructor(
    private readonly db: Database,
    private readonly options: SqliteStoreOptions = {},
  ) {
    configureConnection(db)
  }

  async open(): Promise<void> {
    createSchema(this.db)
    this.statements = { upsert: this.db.prepare(UPSERT), attempts: this.db.prepare(ATTEMPTS) }
    this.searcher = new SqliteSearch(this.db, { ...DEFAULT_SEARCH_BOUNDS, ...this.options.search })
  }

  async upsert(records: readonly ArchivedJob[]): Promise<void> {
    if (records.length === 0) return
    const { upsert } = this.ready()
    this.db.transaction(() => {
      for (const record of records) upsert.run(toRow(record))
    })()
    this.rowsSinceOptimize += records.length
    if (this.rowsSinceOptimize >= ROWS_PER_OPTIMIZE) {
      this.rowsSinceOptimize = 0
      // Bounded by analysis_limit: keeps the planner's row counts current as the archive grows.
      this.db.pragma('optimize')
    }
  }

  async search(query: JobQuery, page: { limit: number; after?: SearchCursor }): Promise<SearchPage> {
    this.ready()
    return this.searcher!.run(query, page)
  }

  async attempts(service: string, queue: string, jobId: string): Promise<ArchivedJob[]> {
    return this.ready().attempts.all(jobId, service, queue) as ArchivedJob[]
  }

  async prune(policy: RetentionPolicy, now: number, batch: number): Promise<PruneResult> {
    this.ready()
    let budget = Math.max(0, Math.floor(batch))
    let deleted = 0
    let more = false
    this.db.transaction(() => {
      for (const state of ARCHIVE_STATES) {
        const maxAge = policy.maxAgeMs[state]
        if (maxAge === undefined || !Number.isFinite(maxAge)) continue
        const cutoff = now - maxAge
        const removed = budget === 0 ? 0 : this.db.prepare('DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE state = ? AND finished_at < ? ORDER BY finished_at LIMIT ?)').run(state, cutoff, budget).changes
        deleted += removed
        budget -= removed
        if (this.db.prepare('SELECT 1 FROM jobs WHERE state = ? AND finished_at < ? LIMIT 1').get(state, cutoff)) more = true
      }
    })()
    if (policy.maxBytes !== undefined && Number.isFinite(policy.maxBytes)) {
      const bytes = this.usedBytes()
      if (bytes > policy.maxBytes) {
        if (budget > 0) {
          // Deleted rows free their pages only once a page is empty, and FTS5 frees its share at
          // its next merge: so delete what the excess is worth at the average row size, not
          // until the estimate drops, or one call would empty the archive.
          const rows = this.db.prepare('SELECT count(*) FROM jobs').pluck().get() as number
          const wanted = Math.max(1, Math.ceil(((bytes - policy.maxBytes) / bytes) * rows))
          const removed = this.db.transaction(() => this.db.prepare('DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs ORDER BY finished_at, seq LIMIT ?)').run(Math.min(wanted, budget)).changes)()
          deleted += removed
        }
        if (this.usedBytes() > policy.maxBytes && this.db.prepare('SELECT 1 FROM jobs LIMIT 1').get()) more = true
      }
    }
    return { deleted, more }
  }

  async stats(): Promise<ArchiveStats> {
    this.ready()
    const byState: ArchiveStats['byState'] = {}
    let rows = 0
    for (const { state, count } of this.db.prepare('SELECT state, count(*) AS count FROM jobs GROUP BY state').all() as { state: string; count: number }[]) {
      rows += count
      if ((ARCHIVE_STATES as readonly string[]).includes(state)) byState[state as keyof ArchiveStats['byState']] = count
    }
    const oldestFinishedAt = this.db.prepare('SELECT min(finished_at) FROM jobs').pluck().get() as number | null
    return { rows, bytes: this.usedBytes(), byState, oldestFinishedAt }
  }

  async close(): Promise<void> {
    if (!this.db.open) return
    try {
      this.db.pragma('optimize')
    } finally {
      this.db.close()
    }
  }

  /** Pages in use (free pages excluded, so deletions count before any VACUUM) times the page size. */
  private usedBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number
    const free = this.db.pragma('freelist_count', { simple: true }) as number
    const size = this.db.pragma('page_size', { simple: true }) as number
    return (pages - free) * size
  }

  private ready(): { upsert: Statement; attempts: Statement } {
    if (!this.statements) throw new Error('the SQLite archive is not open: call open() first')
    return this.statements
  }
}

function toRow(record: ArchivedJob): Record<string, unknown> {
  return {
    service: record.service,
    queue: record.queue,
    jobId: record.jobId,
    attempt: record.attempt,
    state: record.state,
    name: record.name ?? null,
    driver: record.driver ?? null,
    addedAt: whole(record.addedAt),
    startedAt: whole(record.startedAt),
    finishedAt: Math.round(record.finishedAt),
    durationMs: whole(record.durationMs),
    waitMs: whole(record.waitMs),
    failedReason: record.failedReason ?? null,
    stack: record.stack ?? null,
    data: record.data ?? null,
    opts: record.opts ?? null,
    result: record.result ?? null,
    appVersion: record.appVersion ?? null,
    nodeId: record.nodeId,
  }
}

function whole(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : Math.round(value)
}
