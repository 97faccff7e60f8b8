/**
 * A world to search: real BullMQ queues (discovered by the console, so read directly) holding
 * waiting, delayed and failed jobs, and a real SQLite archive holding thousands of attempts
 * upserted in shuffled batches. Live jobs' times are set among the archive's, with exact ties, so
 * the merge order is exercised; every live failed job is archived too (its first attempt), so
 * de-duplication is; one live job has more archived attempts than a page reads while skipping.
 * Each job carries secrets in its data, options, result and stack, which no list may show.
 */
import type { Test } from 'tap'
import { Queue, Worker, type Job } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import type { ArchivedJob, ArchiveStore } from '../../server/archive/store.js'
import { openSqliteStore } from '../../server/archive/sqlite-store.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'

export const SERVICES = ['billing', 'mailer', 'api'] as const
export const QUEUES = ['emails', 'digest', 'reports'] as const
export const NAMES = ['send-invoice', 'digest', 'charge-card', 'sync-users'] as const
export const VERSIONS = ['1.0.0', '2.0.0'] as const
export const REASONS = ['SMTP timeout', 'Render failed', 'Card declined', 'Quota exceeded'] as const
/** in every job's payload and trace: a list answer that holds it leaked a payload */
export const SECRET = 'SECRET-9f2c'

export const HOUR = 3_600_000

/** What a row of a search must be, computed from the fixture and not by the code under test. */
export interface ExpectedRow {
  origin: 'live' | 'archived'
  service: string
  queue: string
  jobId: string
  name: string | null
  state: string
  attempt: number | null
  at: number
  failedReason: string | null
  /** archived only: what the search may match besides name and reason */
  stack: string | null
  appVersion: string | null
  data: unknown
}

export interface JobsWorld {
  app: FastifyInstance
  store: ArchiveStore
  archived: ArchivedJob[]
  live: ExpectedRow[]
  /** the live job with more archived attempts than a page reads while skipping */
  retried: { service: string; queue: string; jobId: string; attempts: number }
  /** an archived-only job, several attempts */
  archivedOnly: { service: string; queue: string; jobId: string }
  base: number
}

function connectionOf(url: string) {
  return { url }
}

export async function buildJobsWorld(t: Test, redisUrl: string, { archivedCount = 3000, seed = 14 } = {}): Promise<JobsWorld> {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const base = Date.now() - 6 * HOUR
  const archiveTimes = Array.from({ length: 900 }, (_, i) => base + i * 20_000)

  // live: billing/emails and mailer/digest, waiting and delayed jobs at archive instants (ties)
  const live: ExpectedRow[] = []
  const queues: Queue[] = []
  t.teardown(async () => {
    for (const queue of queues) await queue.close()
  })
  for (const [service, name, count] of [
    ['billing', 'emails', 40],
    ['mailer', 'digest', 25],
  ] as const) {
    const queue = new Queue(name, { connection: connectionOf(redisUrl), prefix: service })
    queues.push(queue)
    const kinds = shuffled([...Array.from({ length: count }, () => 'waiting'), ...Array.from({ length: Math.floor(count / 3) }, () => 'delayed')], random)
    for (const kind of kinds) {
      const jobName = pick(NAMES)
      const at = pick(archiveTimes)
      const job = await queue.add(jobName, { memo: SECRET, user: { id: 1 } }, { timestamp: at, ...(kind === 'delayed' ? { delay: 24 * HOUR } : {}) })
      live.push({ origin: 'live', service, queue: name, jobId: job.id!, name: jobName, state: kind, attempt: null, at, failedReason: null, stack: null, appVersion: null, data: null })
    }
  }

  const liveTimes = new Map<string, { addedAt: number; startedAt: number | null }>()
  // live failed jobs: a worker that throws, on a queue of their own so waiting jobs stay waiting
  const failing = async (service: string, name: string, count: number) => {
    const queue = new Queue(name, { connection: connectionOf(redisUrl), prefix: service })
    queues.push(queue)
    const jobs = await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: 'charge-card', data: { memo: SECRET, password: `pw-${SECRET}`, n: i }, opts: { attempts: 1 } })))
    const worker = new Worker(
      name,
      async (job: Job) => {
        throw new Error(`Card declined for ${String((job.data as { n: number }).n)}`)
      },
      { connection: connectionOf(redisUrl), prefix: service, concurrency: 5 },
    )
    worker.on('error', () => {})
    await eventually(async () => (await queue.getFailedCount()) === count, `${count} jobs of ${name} failed`)
    await worker.close()
    const rows: ExpectedRow[] = []
    for (const added of jobs) {
      const job = (await queue.getJob(added.id!))!
      rows.push({
        origin: 'live',
        service,
        queue: name,
        jobId: job.id!,
        name: 'charge-card',
        state: 'failed',
        attempt: job.attemptsMade,
        at: job.finishedOn!,
        failedReason: job.failedReason,
        stack: null,
        appVersion: null,
        data: null,
      })
      liveTimes.set(JSON.stringify([service, name, job.id]), { addedAt: job.timestamp, startedAt: job.processedOn ?? null })
    }
    return rows
  }
  const failedLive = await failing('billing', 'payments', 15)
  const retriedLive = await failing('billing', 'retries', 1)
  live.push(...failedLive, ...retriedLive)

  // the archive: many attempts of many jobs in every combination, finishing at shared instants
  const archived: ArchivedJob[] = []
  const attemptRow = (service: string, queue: string, jobId: string, attempt: number, finishedAt: number, state: 'completed' | 'failed', name: string | null, reason: string | null): ArchivedJob => ({
    service,
    queue,
    jobId,
    attempt,
    state,
    name,
    driver: 'bullmq',
    addedAt: finishedAt - 5_000,
    startedAt: finishedAt - 1_000,
    finishedAt,
    durationMs: 1_000,
    waitMs: 4_000,
    failedReason: reason,
    stack: reason === null ? null : `Error: ${reason}\n    at handler (/app/worker.js:10:5) ${SECRET}`,
    data: JSON.stringify({ user: { id: Math.floor(random() * 7) }, plan: pick(['pro', 'free']), memo: SECRET }),
    opts: JSON.stringify({ attempts: 3, memo: SECRET }),
    result: state === 'completed' ? JSON.stringify({ ok: true, memo: SECRET }) : null,
    appVersion: random() < 0.1 ? null : pick(VERSIONS),
    nodeId: `node-${Math.floor(random() * 3)}`,
  })
  for (let i = 0; archived.length < archivedCount; i++) {
    const service = pick(SERVICES)
    const queue = pick(QUEUES)
    const jobId = String(5000 + i)
    const attempts = 1 + Math.floor(random() * 3)
    const name = random() < 0.05 ? null : pick(NAMES)
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const failed = attempt < attempts || random() < 0.3
      archived.push(attemptRow(service, queue, jobId, attempt, pick(archiveTimes), failed ? 'failed' : 'completed', name, failed ? pick(REASONS) : null))
    }
  }
  // every live failed job's first attempt is archived too: it must show once, as live
  // (the SDK records the times the queue has, so the archived attempt carries them too)
  for (const row of failedLive)
    archived.push({ ...attemptRow(row.service, row.queue, row.jobId, 1, row.at, 'failed', 'charge-card', row.failedReason), ...liveTimes.get(JSON.stringify([row.service, row.queue, row.jobId])) })
  const retried = { service: 'billing', queue: 'retries', jobId: retriedLive[0]!.jobId, attempts: 60 }
  for (let attempt = 1; attempt <= retried.attempts; attempt++) archived.push(attemptRow(retried.service, retried.queue, retried.jobId, attempt, pick(archiveTimes), 'failed', 'charge-card', 'Card declined'))
  for (let i = 0; i < 8; i++) archived.push(attemptRow('billing', 'retries', `other-${i}`, 1, pick(archiveTimes), 'completed', 'charge-card', null))
  const archivedOnly = { service: 'billing', queue: 'a/b c', jobId: 'job:1 "x"' }
  for (let attempt = 1; attempt <= 3; attempt++)
    archived.push(attemptRow(archivedOnly.service, archivedOnly.queue, archivedOnly.jobId, attempt, base + attempt * 60_000, attempt < 3 ? 'failed' : 'completed', 'sync-users', attempt < 3 ? 'Quota exceeded' : null))

  const store = openSqliteStore(':memory:')
  await store.open()
  const order = shuffled(archived, random)
  for (let i = 0; i < order.length; i += 500) await store.upsert(order.slice(i, i + 500))

  const clock = fakeClock(Date.now())
  // the archive plugin opens what `openStore` gives: the store filled above, closed with the app
  const app = await buildTestApp({ redisUrl, clock, archive: 'sqlite:/nonexistent/archive.sqlite', archiveTuning: { openStore: async () => store } })
  t.teardown(() => app.close())
  await app.collector.refresh()
  return { app, store, archived, live, retried, archivedOnly, base }
}
