/**
 * Retention for the PostgreSQL archive: batched deletes, oldest first, each call bounded by
 * `batch` rows in total, so a prune never holds locks or the pool for long.
 *
 * The size cap needs the size of the rows still kept. `pg_total_relation_size` alone cannot say:
 * a DELETE leaves the files as large as before (autovacuum turns the space into free space that
 * later inserts reuse; only VACUUM FULL gives it back), so a cap checked against it would keep
 * deleting until the table was empty. The estimate is therefore rows × bytes per row, where bytes
 * per row is the average row of the newest rows (their TOASTed payloads included) scaled by the
 * table's ratio of heap and TOAST plus indexes to heap and TOAST. Deleting rows lowers it at once; reusing free space
 * leaves it right.
 */
import type pg from 'pg'
import { ARCHIVE_STATES } from '@gravito/quasar/protocol'
import type { ArchiveStats, PruneResult, RetentionPolicy } from './store.js'
import { TABLE } from './postgres-schema.js'

/** Rows sampled for the average row size: enough to smooth payload sizes, cheap through the index. */
const SIZE_SAMPLE = 200
const MAX_TIME = 8.64e15

type Queryable = Pick<pg.Pool, 'query'>

export interface SizeEstimate {
  rows: number
  bytes: number
}

/** `knownRows`: the row count when the caller has just counted (a count is a full index scan). */
export async function estimateSize(db: Queryable, knownRows?: number): Promise<SizeEstimate> {
  const { rows } = await db.query(
    `SELECT ${knownRows === undefined ? `(SELECT count(*) FROM ${TABLE})::float8` : '$1::float8'} AS rows,
       (SELECT coalesce(avg(pg_column_size(sample.*)), 0) FROM (SELECT * FROM ${TABLE} ORDER BY finished_at DESC, seq DESC LIMIT ${SIZE_SAMPLE}) sample)::float8 AS row_bytes,
       (pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0))::float8 AS table_bytes,
       pg_indexes_size(c.oid)::float8 AS index_bytes
     FROM pg_class c WHERE c.oid = '${TABLE}'::regclass`,
    knownRows === undefined ? [] : [knownRows],
  )
  const row = rows[0] as { rows: number; row_bytes: number; table_bytes: number; index_bytes: number }
  // main forks only: the free-space and visibility maps that VACUUM adds would move the estimate
  const indexFactor = row.table_bytes > 0 ? 1 + row.index_bytes / row.table_bytes : 1
  return { rows: row.rows, bytes: Math.round(row.rows * row.row_bytes * indexFactor) }
}

export async function archiveStats(db: Queryable): Promise<ArchiveStats> {
  const [byState, oldest] = await Promise.all([db.query(`SELECT state, count(*)::float8 AS rows FROM ${TABLE} GROUP BY state`), db.query(`SELECT min(finished_at)::float8 AS oldest FROM ${TABLE}`)])
  const stats: ArchiveStats = { rows: 0, bytes: 0, byState: {}, oldestFinishedAt: (oldest.rows[0] as { oldest: number | null }).oldest }
  for (const row of byState.rows as { state: string; rows: number }[]) {
    stats.rows += row.rows
    if ((ARCHIVE_STATES as readonly string[]).includes(row.state)) stats.byState[row.state as (typeof ARCHIVE_STATES)[number]] = row.rows
  }
  stats.bytes = (await estimateSize(db, stats.rows)).bytes
  return stats
}

/**
 * Deletes the oldest `limit` rows that `due` (a WHERE clause) selects, and says whether more are
 * due: one row beyond the batch is looked up, so "more" is never a guess.
 */
async function deleteOldest(db: Queryable, due: string, values: unknown[], limit: number): Promise<{ deleted: number; more: boolean }> {
  const picked = await db.query(`SELECT seq FROM ${TABLE}${due} ORDER BY finished_at, seq LIMIT $${values.length + 1}`, [...values, limit + 1])
  const seqs = picked.rows.slice(0, limit).map((row: { seq: string }) => row.seq)
  if (seqs.length === 0) return { deleted: 0, more: picked.rows.length > 0 }
  const result = await db.query(`DELETE FROM ${TABLE} WHERE seq = ANY($1::bigint[])`, [seqs])
  return { deleted: result.rowCount ?? 0, more: picked.rows.length > limit }
}

export async function pruneArchive(db: Queryable, policy: RetentionPolicy, now: number, batch: number): Promise<PruneResult> {
  let budget = Math.max(Math.trunc(batch) || 0, 0)
  let deleted = 0
  let more = false
  for (const state of ARCHIVE_STATES) {
    const maxAge = policy.maxAgeMs[state]
    if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0) continue
    const cutoff = Math.min(Math.max(Math.floor(now - maxAge), -MAX_TIME), MAX_TIME)
    const step = await deleteOldest(db, ' WHERE state = $1 AND finished_at < $2::bigint', [state, cutoff], budget)
    deleted += step.deleted
    budget -= step.deleted
    more ||= step.more
  }
  if (typeof policy.maxBytes === 'number' && Number.isFinite(policy.maxBytes) && policy.maxBytes >= 0) {
    const size = await estimateSize(db)
    if (size.bytes > policy.maxBytes && size.rows > 0) {
      const excess = size.rows - Math.floor(policy.maxBytes / (size.bytes / size.rows))
      const step = await deleteOldest(db, '', [], Math.min(excess, budget))
      deleted += step.deleted
      if (excess > step.deleted) more = true
    }
  }
  return { deleted, more }
}
