/**
 * Retention for the PostgreSQL archive: batched deletes, oldest first, each call bounded by
 * `batch` rows in total, so a prune never holds locks or the pool for long.
 *
 * The size cap needs the size of the rows still kept. `pg_total_relation_size` alone cannot say:
 * a DELETE leaves the files as large as before (autovacuum turns the space into free space that
 * later inserts reuse; only VACUUM FULL gives it back), so a cap checked against it would keep
 * deleting until the table was empty. The estimate is therefore rows × bytes per row, where bytes
 * per row is the average row of the newest rows (their TOASTed payloads included) scaled by the
 * table's ratio of indexes plus heap to heap. Deleting rows lowers it at once; reusing free space
 * leaves it right.
 */
import type pg from 'pg'
import { ARCHIVE_STATES } from '@gravito/quasar/protocol'
import type { ArchiveStats, PruneResult, RetentionPolicy } from './store.js'
import { TABLE } from './postgres-schema.js'

/** Rows sampled for the average row size: enough to smooth payload sizes, cheap through the index. */
const SIZE_SAMPLE = 200

type Queryable = Pick<pg.Pool, 'query'>

export interface SizeEstimate {
  rows: number
  bytes: number
}

export async function estimateSize(db: Queryable): Promise<SizeEstimate> {
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM ${TABLE})::float8 AS rows,
       (SELECT coalesce(avg(pg_column_size(sample.*)), 0) FROM (SELECT * FROM ${TABLE} ORDER BY finished_at DESC, seq DESC LIMIT ${SIZE_SAMPLE}) sample)::float8 AS row_bytes,
       pg_total_relation_size('${TABLE}')::float8 AS total_bytes,
       pg_table_size('${TABLE}')::float8 AS table_bytes`,
  )
  const row = rows[0] as { rows: number; row_bytes: number; total_bytes: number; table_bytes: number }
  const indexFactor = row.table_bytes > 0 ? Math.max(1, row.total_bytes / row.table_bytes) : 1
  return { rows: row.rows, bytes: Math.round(row.rows * row.row_bytes * indexFactor) }
}

export async function archiveStats(db: Queryable): Promise<ArchiveStats> {
  const [byState, oldest, size] = await Promise.all([
    db.query(`SELECT state, count(*)::float8 AS rows FROM ${TABLE} GROUP BY state`),
    db.query(`SELECT min(finished_at)::float8 AS oldest FROM ${TABLE}`),
    estimateSize(db),
  ])
  const stats: ArchiveStats = { rows: 0, bytes: size.bytes, byState: {}, oldestFinishedAt: (oldest.rows[0] as { oldest: number | null }).oldest }
  for (const row of byState.rows as { state: string; rows: number }[]) {
    stats.rows += row.rows
    if ((ARCHIVE_STATES as readonly string[]).includes(row.state)) stats.byState[row.state as (typeof ARCHIVE_STATES)[number]] = row.rows
  }
  return stats
}

/** Deletes up to `limit` rows picked by `pick` (a SELECT of seq, oldest first); returns how many went. */
async function deleteBatch(db: Queryable, pick: string, values: unknown[], limit: number): Promise<number> {
  const result = await db.query(`DELETE FROM ${TABLE} WHERE seq = ANY(ARRAY(${pick} ORDER BY finished_at, seq LIMIT $${values.length + 1}))`, [...values, limit])
  return result.rowCount ?? 0
}

export async function pruneArchive(db: Queryable, policy: RetentionPolicy, now: number, batch: number): Promise<PruneResult> {
  let budget = Math.max(Math.trunc(batch) || 0, 0)
  let deleted = 0
  let more = false
  for (const state of ARCHIVE_STATES) {
    const maxAge = policy.maxAgeMs[state]
    if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0) continue
    if (budget === 0) {
      more = true
      break
    }
    const cutoff = Math.floor(now - maxAge)
    const gone = await deleteBatch(db, `SELECT seq FROM ${TABLE} WHERE state = $1 AND finished_at < $2::bigint`, [state, cutoff], budget)
    deleted += gone
    budget -= gone
    // a full batch may have left more behind; the next call finds out
    if (budget === 0) more = true
  }
  if (typeof policy.maxBytes === 'number' && Number.isFinite(policy.maxBytes) && policy.maxBytes >= 0) {
    if (budget === 0) return { deleted, more: true }
    const size = await estimateSize(db)
    if (size.bytes > policy.maxBytes && size.rows > 0) {
      const keep = Math.floor(policy.maxBytes / (size.bytes / size.rows))
      const excess = size.rows - keep
      const gone = await deleteBatch(db, `SELECT seq FROM ${TABLE}`, [], Math.min(excess, budget))
      deleted += gone
      if (excess > gone) more = true
    }
  }
  return { deleted, more }
}
