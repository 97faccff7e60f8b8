/**
 * The PostgreSQL archive's table and indexes. One table, one row per finished attempt.
 *
 * - `seq bigserial` breaks ties between rows finished in the same millisecond, so keyset pages
 *   (finished_at, seq) never skip or repeat a row.
 * - `data` is `json`, not `jsonb`: `json` keeps the text as the agent wrote it (key order, as a
 *   person reads a payload), and the GIN index is built over `data::jsonb` for `@>` searches.
 *   Rows are cleaned before insert so that cast cannot fail (see postgres-rows.ts).
 * - `search` is a generated tsvector: the name weighted A, the failed reason B, the stack C, so a
 *   search can keep a phrase inside one column (`ts_filter`) and `error:` to B and C while free
 *   words take any. Punctuation becomes spaces first, so
 *   `email.send`, `worker.js:42` or `ECONNREFUSED 127.0.0.1:6379` are words, as SQLite's unicode61
 *   tokenizer splits them; the `simple` configuration does not stem, so both engines agree.
 * - Retention deletes by (state, finished_at) and the size cap by (finished_at, seq); no time
 *   partitions: the unique key (service, queue, job_id, attempt) would have to include the
 *   partition's time, and a record delivered twice with a different time would then be stored
 *   twice. Batched deletes keep the key honest and free space that later inserts reuse.
 */
export const TABLE = 'zenith_archived_jobs'

/** Text as the search index sees it; the same expression runs on the query's words. */
export const searchableText = (sql: string): string => `regexp_replace(${sql}, '[[:punct:]]+', ' ', 'g')`

const weighted = (column: string, weight: string) => `setweight(to_tsvector('simple', ${searchableText(`coalesce(${column}, '')`)}), '${weight}')`
const searchVector = `${weighted('name', 'A')} || ${weighted('failed_reason', 'B')} || ${weighted('stack', 'C')}`

/** A fixed key for pg_advisory_xact_lock: two replicas opening at once must not race on CREATE. */
export const SCHEMA_LOCK = 7_314_052_001

export const SCHEMA_STATEMENTS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${TABLE} (
    seq bigserial PRIMARY KEY,
    service text NOT NULL,
    queue text NOT NULL,
    job_id text NOT NULL,
    attempt integer NOT NULL,
    state text NOT NULL,
    name text,
    driver text,
    added_at bigint,
    started_at bigint,
    finished_at bigint NOT NULL,
    duration_ms bigint,
    wait_ms bigint,
    failed_reason text,
    stack text,
    data json,
    opts text,
    result text,
    app_version text,
    node_id text NOT NULL,
    search tsvector GENERATED ALWAYS AS (${searchVector}) STORED,
    CONSTRAINT ${TABLE}_key UNIQUE (service, queue, job_id, attempt)
  )`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_newest ON ${TABLE} (finished_at, seq)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_service_newest ON ${TABLE} (service, finished_at, seq)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_state_newest ON ${TABLE} (state, finished_at, seq)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_job_id ON ${TABLE} (job_id)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_search ON ${TABLE} USING gin (search)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_data ON ${TABLE} USING gin ((data::jsonb) jsonb_path_ops)`,
]

/** Every column a detail read returns, as the row mapper expects them. */
export const DETAIL_COLUMNS =
  'seq, service, queue, job_id, attempt, state, name, driver, added_at, started_at, finished_at, duration_ms, wait_ms, failed_reason, stack, data::text AS data, opts, result, app_version, node_id'

/** A result list's columns: never the payloads nor the stack. */
export const SUMMARY_COLUMNS = 'seq, service, queue, job_id, attempt, state, name, driver, added_at, started_at, finished_at, duration_ms, wait_ms, failed_reason, app_version, node_id'
