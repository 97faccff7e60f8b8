/**
 * The embedded archive engine: one SQLite file (WAL, synchronous=NORMAL) in the data folder, one
 * writer (this process). better-sqlite3 is synchronous and runs on the console's event loop, so
 * every call is kept short: the archiver hands over bounded batches, a search reads a bounded page
 * or window (sqlite-search.ts), and `prune` deletes at most one batch per call.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Sqlite from 'better-sqlite3'
import type { Database, Statement } from 'better-sqlite3'
import { ARCHIVE_STATES } from '@gravito/quasar/protocol'
import type { ArchivedJob, ArchiveStats, ArchiveStore, JobQuery, PruneResult, RetentionPolicy, SearchCursor, SearchPage } from './store.js'
import { configureConnection, createSchema } from './sqlite-schema.js'
import { pruneArchive, usedBytes } from './sqlite-prune.js'
import { SqliteWriter } from './sqlite-writes.js'
import { DEFAULT_SEARCH_BOUNDS, SqliteSearch, type SearchBounds } from './sqlite-search.js'

export interface SqliteStoreOptions {
  /** bounds of one search (see sqlite-search.ts); tests shrink them to reach the partial paths */
  search?: Partial<SearchBounds>
}

/** Most attempts `attempts()` returns for one job (BullMQ's attempts are far fewer in practice). */
const MAX_ATTEMPTS = 1_000

const ARCHIVE_ID_KEY = 'archive_id'

/** Rows upserted between two refreshes of the planner's statistics. */
const ROWS_PER_OPTIMIZE = 200_000

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
  private statements: { writer: SqliteWriter; attempts: Statement } | null = null
  private rowsSinceOptimize = 0
  private id: string | null = null

  constructor(
    private readonly db: Database,
    private readonly options: SqliteStoreOptions = {},
  ) {
    configureConnection(db)
  }

  get archiveId(): string | null {
    return this.id
  }

  async open(): Promise<void> {
    createSchema(this.db)
    this.id = archiveIdOf(this.db)
    this.statements = { writer: new SqliteWriter(this.db), attempts: this.db.prepare(ATTEMPTS) }
    this.searcher = new SqliteSearch(this.db, { ...DEFAULT_SEARCH_BOUNDS, ...this.options.search })
  }

  async upsert(records: readonly ArchivedJob[]): Promise<void> {
    if (records.length === 0) return
    const { writer } = this.ready()
    this.db.transaction(() => {
      for (const record of records) writer.upsert(record)
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
    return pruneArchive(this.db, this.ready().writer, policy, now, batch)
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
    return { rows, bytes: usedBytes(this.db), byState, oldestFinishedAt }
  }

  async close(): Promise<void> {
    if (!this.db.open) return
    try {
      this.db.pragma('optimize')
    } finally {
      this.db.close()
    }
  }

  private ready(): { writer: SqliteWriter; attempts: Statement } {
    if (!this.statements) throw new Error('the SQLite archive is not open: call open() first')
    return this.statements
  }
}

/** The file's own id, made on its first open: a copy of the file is the same archive, a new file another. */
function archiveIdOf(db: Database): string {
  db.prepare('INSERT INTO archive_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(ARCHIVE_ID_KEY, randomUUID())
  return db.prepare('SELECT value FROM archive_meta WHERE key = ?').pluck().get(ARCHIVE_ID_KEY) as string
}
