/**
 * The job archive in PostgreSQL, for several console replicas sharing one archive and for
 * archives larger than one SQLite file serves well. Opened with `openPostgresStore(url)`.
 *
 * A small bounded pool: the archiver writes one batch at a time and searches are short, so a few
 * connections serve a console, and several replicas stay far under `max_connections`. Every call
 * either resolves or rejects with a message that names the archive and the operation; a server
 * that goes away never crashes the console (idle connections that die report to the pool's
 * 'error' listener, and the pool reconnects on the next call).
 */
import pg from 'pg'
import type { ArchiveStats, ArchiveStore, ArchivedJob, JobQuery, PruneResult, RetentionPolicy, SearchCursor, SearchPage } from './store.js'
import { DETAIL_COLUMNS, SCHEMA_LOCK, SCHEMA_STATEMENTS, TABLE } from './postgres-schema.js'
import { text, toArchivedJob, toColumns } from './postgres-rows.js'
import { DEFAULT_SEARCH_BOUNDS, searchArchive, type SearchBounds } from './postgres-search.js'
import { archiveStats, pruneArchive } from './postgres-retention.js'

/** A job with more attempts than this shows its latest ones: one job must not fill a response. */
export const MAX_ATTEMPTS_READ = 500

export interface PostgresStoreOptions {
  /** connections in the pool (default 4) */
  maxConnections?: number
  /** how long to wait for a connection before a call fails (default 5 s) */
  connectTimeoutMs?: number
  /** the server cancels any statement that runs longer (default 15 s) */
  statementTimeoutMs?: number
  /** called for errors no caller is waiting on (an idle connection that died) */
  onError?: (error: Error) => void
  /** how far a search scans for text without words, and its largest page */
  searchBounds?: SearchBounds
}

/** The URL without its password, for messages. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'an unreadable URL'
  }
}

export class PostgresArchiveStore implements ArchiveStore {
  readonly engine = 'postgres' as const
  /** one database, shared by every console that writes to it */
  readonly archiveId = null
  readonly #pool: pg.Pool
  readonly #where: string
  readonly #bounds: SearchBounds

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const protocol = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase()
    if (protocol !== 'postgres' && protocol !== 'postgresql') throw new Error(`archive: ${describeUrl(url)} is not a postgres:// URL`)
    this.#where = describeUrl(url)
    this.#bounds = options.searchBounds ?? DEFAULT_SEARCH_BOUNDS
    this.#pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 15_000,
      application_name: 'zenith-archive',
      allowExitOnIdle: true,
    })
    const onError = options.onError ?? (() => {})
    this.#pool.on('error', (error) => onError(new Error(`archive (${this.#where}): idle connection failed: ${error.message}`)))
  }

  /** Runs one operation and turns any failure into a message that says where and what. */
  async #run<T>(operation: string, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
    try {
      return await work(this.#pool)
    } catch (error) {
      const reason = error instanceof Error ? error.message || (error as NodeJS.ErrnoException).code || error.name : String(error)
      throw new Error(`archive (${this.#where}): ${operation} failed: ${reason}`, { cause: error })
    }
  }

  open(): Promise<void> {
    return this.#run('open', async (pool) => {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK])
        for (const statement of SCHEMA_STATEMENTS) await client.query(statement)
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      } finally {
        client.release()
      }
    })
  }

  upsert(records: readonly ArchivedJob[]): Promise<void> {
    if (records.length === 0) return Promise.resolve()
    const columns = toColumns(records)
    return this.#run('upsert', async (pool) => {
      // one statement per batch: the arrays travel as 19 parameters whatever the batch size
      await pool.query(
        `INSERT INTO ${TABLE} (service, queue, job_id, attempt, state, name, driver, added_at, started_at, finished_at, duration_ms, wait_ms, failed_reason, stack, data, opts, result, app_version, node_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[], $14::text[], $15::json[], $16::text[], $17::text[], $18::text[], $19::text[])
         ON CONFLICT (service, queue, job_id, attempt) DO UPDATE SET
           state = excluded.state, name = excluded.name, driver = excluded.driver, added_at = excluded.added_at, started_at = excluded.started_at,
           finished_at = excluded.finished_at, duration_ms = excluded.duration_ms, wait_ms = excluded.wait_ms, failed_reason = excluded.failed_reason,
           stack = excluded.stack, data = excluded.data, opts = excluded.opts, result = excluded.result, app_version = excluded.app_version, node_id = excluded.node_id`,
        [
          columns.service,
          columns.queue,
          columns.jobId,
          columns.attempt,
          columns.state,
          columns.name,
          columns.driver,
          columns.addedAt,
          columns.startedAt,
          columns.finishedAt,
          columns.durationMs,
          columns.waitMs,
          columns.failedReason,
          columns.stack,
          columns.data,
          columns.opts,
          columns.result,
          columns.appVersion,
          columns.nodeId,
        ],
      )
    })
  }

  search(query: JobQuery, page: { limit: number; after?: SearchCursor }): Promise<SearchPage> {
    return this.#run('search', (pool) => searchArchive(pool, query, page, this.#bounds))
  }

  attempts(service: string, queue: string, jobId: string): Promise<ArchivedJob[]> {
    return this.#run('attempts', async (pool) => {
      const { rows } = await pool.query(`SELECT * FROM (SELECT ${DETAIL_COLUMNS} FROM ${TABLE} WHERE service = $1 AND queue = $2 AND job_id = $3 ORDER BY attempt DESC LIMIT $4) latest ORDER BY attempt`, [
        text(service),
        text(queue),
        text(jobId),
        MAX_ATTEMPTS_READ,
      ])
      return rows.map(toArchivedJob)
    })
  }

  prune(policy: RetentionPolicy, now: number, batch: number): Promise<PruneResult> {
    return this.#run('prune', (pool) => pruneArchive(pool, policy, now, batch))
  }

  stats(): Promise<ArchiveStats> {
    return this.#run('stats', (pool) => archiveStats(pool))
  }

  async close(): Promise<void> {
    if (this.#pool.ended) return
    await this.#pool.end()
  }
}

/** A store over `url` without touching the server yet; `open()` creates the table. */
export function createPostgresStore(url: string, options?: PostgresStoreOptions): PostgresArchiveStore {
  return new PostgresArchiveStore(url, options)
}

/** A store over `url` whose table and indexes exist: rejects with the reason when the server cannot be used. */
export async function openPostgresStore(url: string, options?: PostgresStoreOptions): Promise<PostgresArchiveStore> {
  const store = new PostgresArchiveStore(url, options)
  try {
    await store.open()
  } catch (error) {
    await store.close().catch(() => {})
    throw error
  }
  return store
}
