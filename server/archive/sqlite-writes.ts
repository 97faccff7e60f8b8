/**
 * Writes to the SQLite archive: `jobs` and its text index `jobs_fts` change together, in the
 * caller's transaction. An upsert looks the key up first (one probe of the unique index): a new
 * key is inserted with a new seq, a known key is updated in place and keeps its seq, and its words
 * are re-indexed only when its name, reason or stack changed, so a redelivered record costs no
 * FTS write.
 */
import type { Database, Statement } from 'better-sqlite3'
import type { ArchivedJob } from './store.js'

const FIELDS = [
  'service',
  'queue',
  'job_id',
  'attempt',
  'state',
  'name',
  'driver',
  'added_at',
  'started_at',
  'finished_at',
  'duration_ms',
  'wait_ms',
  'failed_reason',
  'stack',
  'data',
  'opts',
  'result',
  'app_version',
  'node_id',
] as const
const UPDATED = FIELDS.filter((field) => !['service', 'queue', 'job_id', 'attempt'].includes(field))

interface Existing {
  seq: number
  name: string | null
  failedReason: string | null
  stack: string | null
}

export class SqliteWriter {
  private readonly find: Statement
  private readonly insert: Statement
  private readonly update: Statement
  private readonly indexText: Statement
  private readonly unindexText: Statement
  private readonly deleteJobs: Statement
  private readonly unindexJobs: Statement

  constructor(db: Database) {
    this.find = db.prepare('SELECT seq, name, failed_reason AS failedReason, stack FROM jobs WHERE job_id = ? AND service = ? AND queue = ? AND attempt = ?')
    this.insert = db.prepare(`INSERT INTO jobs (${FIELDS.join(', ')}) VALUES (${FIELDS.map(() => '?').join(', ')})`)
    this.update = db.prepare(`UPDATE jobs SET ${UPDATED.map((field) => `${field} = ?`).join(', ')} WHERE seq = ?`)
    this.indexText = db.prepare('INSERT INTO jobs_fts (rowid, name, failed_reason, stack) VALUES (?, ?, ?, ?)')
    this.unindexText = db.prepare('DELETE FROM jobs_fts WHERE rowid = ?')
    this.deleteJobs = db.prepare('DELETE FROM jobs WHERE seq IN (SELECT value FROM json_each(?))')
    this.unindexJobs = db.prepare('DELETE FROM jobs_fts WHERE rowid IN (SELECT value FROM json_each(?))')
  }

  /** Call inside a transaction. */
  upsert(job: ArchivedJob): void {
    const row = toRow(job)
    const existing = this.find.get(job.jobId, job.service, job.queue, job.attempt) as Existing | undefined
    if (!existing) {
      const seq = this.insert.run(row).lastInsertRowid
      if (hasText(job)) this.indexText.run(seq, row[5], row[12], row[13])
      return
    }
    this.update.run(...row.slice(4), existing.seq)
    if (existing.name === row[5] && existing.failedReason === row[12] && existing.stack === row[13]) return
    this.unindexText.run(existing.seq)
    if (hasText(job)) this.indexText.run(existing.seq, row[5], row[12], row[13])
  }

  /** Deletes rows and their words. Call inside a transaction. */
  delete(seqs: readonly number[]): number {
    if (seqs.length === 0) return 0
    const list = JSON.stringify(seqs)
    this.unindexJobs.run(list)
    return this.deleteJobs.run(list).changes
  }
}

function hasText(job: ArchivedJob): boolean {
  return Boolean(job.name || job.failedReason || job.stack)
}

/** The values in FIELDS order; times rounded to whole ms, absent fields null. */
function toRow(job: ArchivedJob): unknown[] {
  return [
    job.service,
    job.queue,
    job.jobId,
    job.attempt,
    job.state,
    job.name ?? null,
    job.driver ?? null,
    whole(job.addedAt),
    whole(job.startedAt),
    Math.round(job.finishedAt),
    whole(job.durationMs),
    whole(job.waitMs),
    job.failedReason ?? null,
    job.stack ?? null,
    job.data ?? null,
    job.opts ?? null,
    job.result ?? null,
    job.appVersion ?? null,
    job.nodeId,
  ]
}

function whole(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : Math.round(value)
}
