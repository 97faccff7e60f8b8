/**
 * Retention for the SQLite archive: per-state age caps and a size cap, each call deleting at most
 * one batch (oldest first) so that it never holds the event loop long.
 *
 * The size cap works through a row target. Deleted rows do not shrink the pages in use at once:
 * a page is freed only when it is empty, and FTS5 frees its share at its next merge. Reading the
 * size again after each batch would go on deleting long after enough is gone (measured: half the
 * bytes asked for, 60% of the rows deleted). So when the archive is first seen over its cap, the
 * share of rows that fits (rows × cap / size) becomes the target, kept in `archive_meta` across
 * restarts, and batches delete down to it. The freed space is reused by new rows; the target is
 * only lowered when the size grows past what it was when the target was set, or the cap changes.
 */
import type { Database } from 'better-sqlite3'
import { ARCHIVE_STATES } from '@gravito/quasar/protocol'
import type { PruneResult, RetentionPolicy } from './store.js'
import type { SqliteWriter } from './sqlite-writes.js'

interface SizeTarget {
  rows: number
  /** pages in use when the target was set */
  bytes: number
  maxBytes: number
}

const TARGET_KEY = 'size-target'

export function pruneArchive(db: Database, writer: SqliteWriter, policy: RetentionPolicy, now: number, batch: number): PruneResult {
  let budget = Math.max(0, Math.floor(batch))
  let deleted = 0
  let more = false
  return db.transaction((): PruneResult => {
    for (const state of ARCHIVE_STATES) {
      const maxAge = policy.maxAgeMs[state]
      if (maxAge === undefined || !Number.isFinite(maxAge)) continue
      const cutoff = now - maxAge
      const removed = budget === 0 ? 0 : writer.delete(db.prepare('SELECT seq FROM jobs WHERE state = ? AND finished_at < ? ORDER BY finished_at LIMIT ?').pluck().all(state, cutoff, budget) as number[])
      deleted += removed
      budget -= removed
      if (db.prepare('SELECT 1 FROM jobs WHERE state = ? AND finished_at < ? LIMIT 1').get(state, cutoff)) more = true
    }
    const target = sizeTarget(db, policy.maxBytes)
    if (target !== null) {
      const rows = db.prepare('SELECT count(*) FROM jobs').pluck().get() as number
      const excess = rows - target.rows
      if (excess > 0 && budget > 0) deleted += writer.delete(db.prepare('SELECT seq FROM jobs ORDER BY finished_at, seq LIMIT ?').pluck().all(Math.min(excess, budget)) as number[])
      if (excess > budget) more = true
    }
    return { deleted, more }
  })()
}

/** The row target for the size cap, set or lowered when the archive is over it; null when it fits or has no cap. */
function sizeTarget(db: Database, maxBytes: number | undefined): SizeTarget | null {
  const bytes = usedBytes(db)
  if (maxBytes === undefined || !Number.isFinite(maxBytes) || bytes <= maxBytes) {
    db.prepare('DELETE FROM archive_meta WHERE key = ?').run(TARGET_KEY)
    return null
  }
  const stored = readTarget(db)
  if (stored && stored.maxBytes === maxBytes && bytes <= stored.bytes) return stored
  const rows = db.prepare('SELECT count(*) FROM jobs').pluck().get() as number
  const target: SizeTarget = { rows: Math.floor((rows * maxBytes) / bytes), bytes, maxBytes }
  db.prepare('INSERT INTO archive_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(TARGET_KEY, JSON.stringify(target))
  return target
}

function readTarget(db: Database): SizeTarget | null {
  const text = db.prepare('SELECT value FROM archive_meta WHERE key = ?').pluck().get(TARGET_KEY) as string | undefined
  if (text === undefined) return null
  try {
    const value = JSON.parse(text) as Partial<SizeTarget>
    return typeof value.rows === 'number' && typeof value.bytes === 'number' && typeof value.maxBytes === 'number' ? (value as SizeTarget) : null
  } catch {
    return null
  }
}

/** Pages in use (free pages excluded, so emptied pages count at once, before any VACUUM) times the page size. */
export function usedBytes(db: Database): number {
  const pages = db.pragma('page_count', { simple: true }) as number
  const free = db.pragma('freelist_count', { simple: true }) as number
  const size = db.pragma('page_size', { simple: true }) as number
  return (pages - free) * size
}
