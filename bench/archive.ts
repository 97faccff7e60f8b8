/**
 * The SQLite job archive: how fast records go in, and how fast a search comes back from a large
 * archive, each beside its baseline in the same run.
 * - ingest: `upsert` in batches (what the archiver calls) against the floor, a raw batched INSERT
 *   of the same rows into the same tables (same indexes, same FTS rows) with no key lookup;
 * - search: p50/p95 of realistic searches through `search` against a naive table (same rows, no
 *   secondary index, no FTS) searched with `LIKE '%…%'` and sorted, as a first version would.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'
import { openSqliteStore } from '../server/archive/sqlite-store.js'
import { configureConnection, createSchema } from '../server/archive/sqlite-schema.js'
import type { ArchivedJob, JobQuery, SearchCursor } from '../server/archive/store.js'
import { benchJobs } from './archive-fixture.js'
import { median, percentile, round } from './stats.js'

const COLUMNS = [
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
]
const INSERT = `INSERT INTO jobs (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`
const values = (job: ArchivedJob) => [
  job.service,
  job.queue,
  job.jobId,
  job.attempt,
  job.state,
  job.name,
  job.driver,
  job.addedAt,
  job.startedAt,
  job.finishedAt,
  job.durationMs,
  job.waitMs,
  job.failedReason,
  job.stack,
  job.data,
  job.opts,
  job.result,
  job.appVersion,
  job.nodeId,
]

export interface IngestRow {
  writer: string
  records: number
  batch: number
  seconds: number
  recordsPerSec: number
}

export interface IngestResult {
  rows: IngestRow[]
  bytesPerRecord: number
  conditions: string
}

/** What else the machine was doing: this box is shared, and SQLite's writes are CPU-bound. */
function conditions(): string {
  const db = new Sqlite(':memory:')
  const version = db.prepare('SELECT sqlite_version()').pluck().get() as string
  db.close()
  return `SQLite ${version}; load average ${loadavg()
    .map((value) => value.toFixed(1))
    .join(', ')} at the end of the run`
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Ingest into fresh files, alternating floor and upsert `runs` times each; the median run of each. */
export async function benchArchiveIngest(records: number, batch: number, runs: number): Promise<IngestResult> {
  const dir = mkdtempSync(join(tmpdir(), 'zenith-bench-archive-'))
  try {
    const jobs = [...benchJobs(records, 11)]
    const batches = chunks(jobs, batch)
    const times = { floor: [] as number[], upsert: [] as number[], again: [] as number[] }
    let bytesPerRecord = 0
    for (let run = 0; run < runs; run++) {
      const floor = () => {
        const raw = new Sqlite(join(dir, `raw-${run}.sqlite`))
        configureConnection(raw)
        createSchema(raw)
        const insert = raw.prepare(INSERT)
        const indexText = raw.prepare('INSERT INTO jobs_fts (rowid, name, failed_reason, stack) VALUES (?, ?, ?, ?)')
        const insertBatch = raw.transaction((rows: ArchivedJob[]) => {
          for (const row of rows) indexText.run(insert.run(values(row)).lastInsertRowid, row.name, row.failedReason, row.stack)
        })
        const start = performance.now()
        for (const rows of batches) insertBatch(rows)
        times.floor.push(performance.now() - start)
        raw.close()
      }
      // Alternate which goes first, so neither always meets a cold page cache.
      if (run % 2 === 0) floor()
      const store = openSqliteStore(join(dir, `store-${run}.sqlite`))
      await store.open()
      let start = performance.now()
      for (const rows of batches) await store.upsert(rows)
      times.upsert.push(performance.now() - start)
      // At-least-once delivery: the same records again, every one a conflict that replaces its row.
      start = performance.now()
      for (const rows of batches) await store.upsert(rows)
      times.again.push(performance.now() - start)
      if (run % 2 === 1) floor()
      const stats = await store.stats()
      bytesPerRecord = Math.round(stats.bytes / stats.rows)
      await store.close()
    }
    const row = (writer: string, ms: number[]): IngestRow => {
      const seconds = median(ms) / 1000
      return { writer, records, batch, seconds: round(seconds, 2), recordsPerSec: Math.round(records / seconds) }
    }
    return { rows: [row('raw batched INSERT (floor)', times.floor), row('store.upsert, new records', times.upsert), row('store.upsert, the same records again', times.again)], bytesPerRecord, conditions: conditions() }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface SearchRow {
  search: string
  ours: string
  oursP50Ms: number
  oursP95Ms: number
  oursRows: number
  partial: boolean
  naiveP50Ms: number
  naiveP95Ms: number
  ratio: number
}

export interface SearchResult {
  rows: SearchRow[]
  records: number
  fillSeconds: number
  fileMB: number
  naiveFileMB: number
  conditions: string
}

interface Case {
  label: string
  query: JobQuery
  /** rows to skip before the measured page (keyset for ours, OFFSET for the naive table) */
  skip?: number
  naive: { where: string; params: unknown[] }
}

const CASES: Case[] = [
  { label: 'service + state', query: { services: ['billing'], states: ['failed'] }, naive: { where: "service LIKE '%billing%' AND state LIKE '%failed%'", params: [] } },
  { label: 'error phrase', query: { error: 'no default payment method' }, naive: { where: '(failed_reason LIKE ? OR stack LIKE ?)', params: ['%no default payment method%', '%no default payment method%'] } },
  {
    label: 'error phrase + service',
    query: { error: 'rate limited', services: ['mailer'] },
    naive: { where: "(failed_reason LIKE ? OR stack LIKE ?) AND service LIKE '%mailer%'", params: ['%rate limited%', '%rate limited%'] },
  },
  { label: 'free word', query: { words: ['deadlock'] }, naive: { where: '(name LIKE ? OR failed_reason LIKE ? OR stack LIKE ?)', params: ['%deadlock%', '%deadlock%', '%deadlock%'] } },
  { label: 'name', query: { names: ['render-pdf-v17'] }, naive: { where: 'name LIKE ?', params: ['%render-pdf-v17%'] } },
  { label: 'data path', query: { data: [{ path: ['customer', 'plan'], value: 'enterprise' }] }, naive: { where: 'data LIKE ?', params: ['%"plan":"enterprise"%'] } },
  { label: 'data path, rare value', query: { data: [{ path: ['customer', 'id'], value: '4242' }] }, naive: { where: 'data LIKE ?', params: ['%"id":4242,%'] } },
  { label: 'deep page (10,000 rows in)', query: { states: ['completed'] }, skip: 10_000, naive: { where: "state LIKE '%completed%'", params: [] } },
]

const PAGE = 50

/** Fills an archive of `records` rows through `upsert`, and a naive table of the same rows, then times each search. */
export async function benchArchiveSearch(records: number, runs: number, naiveRuns: number): Promise<SearchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'zenith-bench-archive-'))
  try {
    const store = openSqliteStore(join(dir, 'archive.sqlite'))
    await store.open()
    const naivePath = join(dir, 'naive.sqlite')
    const naive = new Sqlite(naivePath)
    configureConnection(naive)
    naive.exec(`CREATE TABLE jobs (seq INTEGER PRIMARY KEY, ${COLUMNS.map((column) => `${column} ${/_at$|_ms$|attempt/.test(column) ? 'INTEGER' : 'TEXT'}`).join(', ')})`)
    const naiveInsert = naive.prepare(INSERT)
    const naiveBatch = naive.transaction((rows: ArchivedJob[]) => {
      for (const row of rows) naiveInsert.run(values(row))
    })
    let fillMs = 0
    let pending: ArchivedJob[] = []
    const flush = async () => {
      const start = performance.now()
      await store.upsert(pending)
      fillMs += performance.now() - start
      naiveBatch(pending)
      pending = []
    }
    for (const job of benchJobs(records, 7)) {
      pending.push(job)
      if (pending.length === 5_000) await flush()
    }
    await flush()
    const stats = await store.stats()

    const rows: SearchRow[] = []
    for (const bench of CASES) {
      let after: SearchCursor | undefined
      if (bench.skip) {
        for (let skipped = 0; skipped < bench.skip;) {
          const page = await store.search(bench.query, after ? { limit: 500, after } : { limit: 500 })
          skipped += page.rows.length
          if (!page.next) break
          after = page.next
        }
      }
      const ours: number[] = []
      let last = await store.search(bench.query, after ? { limit: PAGE, after } : { limit: PAGE })
      for (let run = 0; run < runs; run++) {
        const start = performance.now()
        last = await store.search(bench.query, after ? { limit: PAGE, after } : { limit: PAGE })
        ours.push(performance.now() - start)
      }
      const naiveStatement = naive.prepare(
        `SELECT seq, service, queue, job_id, attempt, state, name, finished_at, failed_reason, app_version FROM jobs WHERE ${bench.naive.where} ORDER BY finished_at DESC, seq DESC LIMIT ? OFFSET ?`,
      )
      const naiveTimes: number[] = []
      for (let run = 0; run < naiveRuns; run++) {
        const start = performance.now()
        naiveStatement.all(...bench.naive.params, PAGE, bench.skip ?? 0)
        naiveTimes.push(performance.now() - start)
      }
      rows.push({
        search: bench.label,
        ours: JSON.stringify(bench.query),
        oursP50Ms: round(median(ours)),
        oursP95Ms: round(percentile(ours, 95)),
        oursRows: last.rows.length,
        partial: last.partial !== undefined,
        naiveP50Ms: round(median(naiveTimes)),
        naiveP95Ms: round(percentile(naiveTimes, 95)),
        ratio: round(median(naiveTimes) / Math.max(0.01, median(ours))),
      })
    }
    const naiveFileMB = round(((naive.pragma('page_count', { simple: true }) as number) * (naive.pragma('page_size', { simple: true }) as number)) / 2 ** 20)
    naive.close()
    await store.close()
    return { rows, records, fillSeconds: round(fillMs / 1000), fileMB: round(stats.bytes / 2 ** 20), naiveFileMB, conditions: conditions() }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
