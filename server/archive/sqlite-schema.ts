/**
 * The SQLite archive's tables. One row per finished attempt in `jobs`; `seq` is the rowid, so it
 * is unique and the keyset order (finished_at DESC, seq DESC) is total. An upsert of a key that
 * is already stored updates that row in place and keeps its seq: a redelivered record never moves
 * a row to another page except by its own finished_at.
 *
 * Every secondary index ends in finished_at (and implicitly the rowid), so a filter on its leading
 * column reads rows already in search order and stops at the page's limit instead of sorting.
 * Each index costs inserts; BENCHMARKS.md measures ingest with all of them.
 *
 * `jobs_fts` is a contentless FTS5 index over name, failed reason and stack (unicode61, case- and
 * diacritic-insensitive words), its rowid the row's seq. The store writes it beside `jobs` in the
 * same transaction (sqlite-writes.ts), not through triggers: FTS5 flushes its pending terms at
 * every statement savepoint a trigger opens, which cut ingest from 13,000 to 5,000 rows/s here. Searched `data` paths are read with json_extract over a
 * bounded window (see sqlite-search.ts); promoting frequently searched paths to indexed generated
 * columns is the scalable way and is not done yet.
 */
import type { Database } from 'better-sqlite3'

/** Bumped when the layout changes; `open()` refuses a file written by a newer layout. */
export const SQLITE_SCHEMA_VERSION = 1

const STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    queue TEXT NOT NULL,
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    state TEXT NOT NULL,
    name TEXT,
    driver TEXT,
    added_at INTEGER,
    started_at INTEGER,
    finished_at INTEGER NOT NULL,
    duration_ms INTEGER,
    wait_ms INTEGER,
    failed_reason TEXT,
    stack TEXT,
    data TEXT,
    opts TEXT,
    result TEXT,
    app_version TEXT,
    node_id TEXT NOT NULL
  )`,
  // Small engine state that must survive a restart (the size cap's row target, see sqlite-prune.ts).
  'CREATE TABLE IF NOT EXISTS archive_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  // The key, led by job_id so that `id:` alone and a job's attempts both read one range of it.
  'CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON jobs (job_id, service, queue, attempt)',
  'CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (finished_at)',
  'CREATE INDEX IF NOT EXISTS jobs_by_service ON jobs (service, finished_at)',
  'CREATE INDEX IF NOT EXISTS jobs_by_service_state ON jobs (service, state, finished_at)',
  'CREATE INDEX IF NOT EXISTS jobs_by_queue ON jobs (queue, finished_at)',
  'CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, finished_at)',
  'CREATE INDEX IF NOT EXISTS jobs_by_name ON jobs (name, finished_at)',
  'CREATE INDEX IF NOT EXISTS jobs_by_version ON jobs (app_version, finished_at)',
  // Contentless: the text lives once, in jobs; contentless_delete lets a row's words be removed by rowid.
  `CREATE VIRTUAL TABLE IF NOT EXISTS jobs_fts USING fts5 (
    name, failed_reason, stack,
    content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
  )`,
]

/** WAL with synchronous=NORMAL: a crash loses at most the last transactions, never the file; readers never block the one writer. */
export function configureConnection(db: Database): void {
  if (db.memory) db.pragma('journal_mode = MEMORY')
  else db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = OFF')
  // A second console process on the same file waits for the lock briefly instead of failing at once.
  db.pragma('busy_timeout = 2000')
  // 64 MiB of page cache (the default is 2 MiB): a text search reads up to 5,000 scattered rows,
  // which took 70-130 ms per page from the OS cache and 25-45 ms from this one at 500,000 rows.
  db.pragma('cache_size = -65536')
  // ANALYZE reads at most this many rows per index, so statistics stay cheap on a large archive.
  db.pragma('analysis_limit = 1000')
}

export function createSchema(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SQLITE_SCHEMA_VERSION) throw new Error(`the archive file was written by a newer Zenith (schema ${version}, this one knows ${SQLITE_SCHEMA_VERSION})`)
  db.transaction(() => {
    for (const statement of STATEMENTS) db.exec(statement)
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`)
  })()
  // Gives the planner row counts so it picks the selective index for combined filters.
  db.pragma('optimize = 0x10002')
}
