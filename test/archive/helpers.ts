/**
 * Finished-job records as agents write them (jobRecordFields, XADD MAXLEN ~), and a console app
 * with the archive on, for the archiver's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { ARCHIVE_STREAM_MAXLEN, createKeys, DEFAULT_PREFIX, jobRecordFields, type JobRecord } from '@gravito/quasar/protocol'
import { buildTestApp, type TestAppOptions } from '../helpers/app.js'
import type { ArchivedJob, JobSummary, SearchCursor } from '../../server/archive/store.js'
import { archiveGroup } from '../../server/archive/streams.js'

export const keys = createKeys(DEFAULT_PREFIX)

export function jobRecord(service: string, i: number, overrides: Partial<JobRecord> = {}): JobRecord {
  const failed = i % 3 === 0
  return {
    queue: `${service}-q${i % 4}`,
    jobId: String(1000 + i),
    name: `job-${i % 7}`,
    state: failed ? 'failed' : 'completed',
    attempt: 1 + (i % 2),
    addedAt: 1_700_000_000_000 + i * 10,
    startedAt: 1_700_000_000_000 + i * 10 + 3,
    finishedAt: 1_700_000_000_000 + i * 10 + 8,
    durationMs: 5,
    waitMs: 3,
    ...(failed ? { failedReason: `boom ${i}`, stack: `Error: boom ${i}\n    at work (job.js:${i}:1)` } : {}),
    data: JSON.stringify({ order: i, service }),
    nodeId: `${service}-n${i % 2}`,
    ...overrides,
  }
}

export async function writeRecord(redis: Redis, service: string, record: JobRecord): Promise<string> {
  return (await redis.xadd(keys.archive(service), 'MAXLEN', '~', String(ARCHIVE_STREAM_MAXLEN), '*', ...jobRecordFields(record)))!
}

/** A raw entry, any fields at all (what a broken or hostile agent may write). */
export async function writeRaw(redis: Redis, service: string, fields: (string | Buffer)[]): Promise<string> {
  return (await redis.xadd(keys.archive(service), '*', ...(fields as string[])))!
}

/** The identity the archive keys rows by. */
export const rowKey = (row: Pick<ArchivedJob, 'service' | 'queue' | 'jobId' | 'attempt'>) => `${row.service}|${row.queue}|${row.jobId}|${row.attempt}`

/** A fresh folder for SQLite files, removed after the test. */
export function tempDir(t: Pick<Test, 'teardown'>): string {
  const dir = mkdtempSync(join(tmpdir(), 'zenith-archive-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A console app with the archive in an SQLite file of `dir`, closed after the test. */
export async function archiveApp(t: Pick<Test, 'teardown'>, options: Omit<TestAppOptions, 'archive'> & { file: string }): Promise<FastifyInstance> {
  const { file, ...rest } = options
  const app = await buildTestApp({ ...rest, archive: `sqlite:${file}` })
  t.teardown(() => app.close())
  return app
}

/** Every row of the archive as search lists them (no payloads), paging until the end. */
export async function searchAll(app: FastifyInstance): Promise<JobSummary[]> {
  const store = app.archive.store
  if (!store) throw new Error('archive not open')
  const rows: JobSummary[] = []
  let after: SearchCursor | undefined
  for (;;) {
    const page = await store.search({}, { limit: 500, after })
    rows.push(...page.rows)
    if (!page.next) return rows
    after = page.next
  }
}

/** The consumer group the app's archiver reads with (one per SQLite file, see streams.ts). */
export function groupOf(app: FastifyInstance): string {
  const store = app.archive.store
  if (!store) throw new Error('archive not open')
  return archiveGroup(store.archiveId)
}
