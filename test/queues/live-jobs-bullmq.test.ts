/**
 * A discovered BullMQ queue's jobs, every state, page by page, through the API: real BullMQ
 * queues with hundreds of jobs per state, added in a shuffled interleaving; each page read is
 * checked against what BullMQ itself holds (every job exactly once, counts, BullMQ's order).
 */
import t from 'tap'
import { FlowProducer, Queue, Worker, type Job } from 'bullmq'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { LIVE_JOBS_PAGE_SIZE, LIVE_JOB_STATES } from '../../server/queues/live-jobs.js'
import { LIVE_PAGE_CACHE_MS } from '../../server/queues/live-reader.js'
import { discoveredQueue } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const connection = { url: redisServer.url }

const AMOUNTS = { completed: 180, failed: 170, active: 60, waiting: 230, prioritized: 120, delayed: 140, parents: 70 }

t.test('every state of a queue with hundreds of jobs, paged: each job exactly once, counted, in BullMQ order', async (t) => {
  await redis.flushall()
  const random = seededRandom(14)
  const queue = new Queue('live', { connection })
  t.teardown(() => queue.close())
  let stamp = Date.now() - 3_600_000
  const next = () => (stamp += 1 + Math.floor(random() * 5))

  // finished jobs first, in a shuffled mix of outcomes, processed by a real worker
  const finishing = shuffled([...Array.from({ length: AMOUNTS.completed }, () => 'ok'), ...Array.from({ length: AMOUNTS.failed }, () => 'fail')], random)
  await queue.addBulk(finishing.map((outcome, i) => ({ name: `${outcome}-${i}`, data: { outcome }, opts: { timestamp: next() } })))
  const runner = new Worker(
    'live',
    async (job: Job) => {
      if (job.data.outcome === 'fail') throw new Error(`refused <${job.name}>`)
      return { done: job.name }
    },
    { connection, concurrency: 20 },
  )
  await eventually(async () => (await queue.getCompletedCount()) === AMOUNTS.completed && (await queue.getFailedCount()) === AMOUNTS.failed, 'the finished jobs are finished', 60_000)
  await runner.close()

  // held jobs fill a worker's concurrency, so it takes nothing else
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  await queue.addBulk(Array.from({ length: AMOUNTS.active }, (_, i) => ({ name: `hold-${i}`, data: { outcome: 'hold' }, opts: { timestamp: next() } })))
  const holder = new Worker('live', async () => held, { connection, concurrency: AMOUNTS.active })
  t.teardown(async () => {
    release()
    await holder.close(true)
  })
  await eventually(async () => (await queue.getActiveCount()) === AMOUNTS.active, 'the held jobs are active')

  // waiting, prioritized and delayed jobs, interleaved in a shuffled order
  const kinds = shuffled(
    [...Array.from({ length: AMOUNTS.waiting }, () => 'waiting'), ...Array.from({ length: AMOUNTS.prioritized }, () => 'prioritized'), ...Array.from({ length: AMOUNTS.delayed }, () => 'delayed')],
    random,
  )
  for (const [i, kind] of kinds.entries()) {
    const opts = kind === 'prioritized' ? { priority: 1 + Math.floor(random() * 50) } : kind === 'delayed' ? { delay: 60_000 + Math.floor(random() * 3_600_000) } : {}
    await queue.add(`${kind}-${i}`, { kind }, { ...opts, timestamp: next() })
  }
  // flow parents wait for a child in a queue nobody works
  const flows = new FlowProducer({ connection })
  t.teardown(() => flows.close())
  for (let i = 0; i < AMOUNTS.parents; i++) await flows.add({ name: `parent-${i}`, queueName: 'live', data: {}, opts: { timestamp: next() }, children: [{ name: 'child', queueName: 'nobody-works-here', data: {} }] })

  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await discoveredQueue(app, 'bull', 'live')

  const expected: Record<string, number> = {
    waiting: AMOUNTS.waiting,
    prioritized: AMOUNTS.prioritized,
    active: AMOUNTS.active,
    delayed: AMOUNTS.delayed,
    'waiting-children': AMOUNTS.parents,
    completed: AMOUNTS.completed,
    failed: AMOUNTS.failed,
    paused: 0,
  }
  for (const state of LIVE_JOB_STATES) {
    const truth = new Set((await queue.getJobs([state === 'waiting' ? 'wait' : state] as never, 0, -1)).map((job) => job.id))
    t.equal(truth.size, expected[state], `BullMQ holds ${expected[state]} ${state} jobs`)
    const seen: string[] = []
    const rows: any[] = []
    for (let page = 1; ; page++) {
      const answer = (await app.inject(`/api/pulse/queues/bull/live/jobs?state=${state}&page=${page}`)).json()
      t.match(answer, { service: 'bull', queue: 'live', state, source: 'live', page, pageSize: LIVE_JOBS_PAGE_SIZE, total: expected[state] }, `${state} page ${page}`)
      t.notOk('error' in answer, `${state} page ${page} has no error`)
      if (answer.jobs.length === 0) break
      t.ok(answer.jobs.length <= LIVE_JOBS_PAGE_SIZE)
      t.ok(
        answer.jobs.every((job: any) => job.state === state && !('data' in job || 'opts' in job || 'result' in job || 'stacks' in job || 'logs' in job)),
        `${state} page ${page}: rows of this state, no payload`,
      )
      for (const job of answer.jobs) {
        seen.push(job.id)
        rows.push(job)
      }
    }
    t.equal(seen.length, truth.size, `${state}: as many rows as jobs`)
    t.same(new Set(seen), truth, `${state}: every job exactly once`)
    // the order BullMQ's own getJobs gives (what its boards show)
    const order = (await queue.getJobs([state === 'waiting' ? 'wait' : state] as never, 0, -1)).map((job) => job.id)
    t.same(seen, order, `${state}: in BullMQ's order`)
    if (state === 'waiting')
      t.ok(
        rows.every((row, i) => i === 0 || row.addedAt <= rows[i - 1].addedAt),
        'waiting: newest first',
      )
    if (state === 'completed' || state === 'failed')
      t.ok(
        rows.every((row, i) => i === 0 || row.finishedAt <= rows[i - 1].finishedAt),
        `${state}: newest finished first`,
      )
    if (state === 'failed')
      t.ok(
        rows.every((row) => /^refused <ok-\d+>$|^refused <fail-\d+>$/.test(row.failedReason) && row.attemptsMade === 1),
        'failed rows carry the reason and attempts',
      )
    if (state === 'delayed') {
      const delayed = await queue.getJobs(['delayed'], 0, -1)
      const due = new Map(delayed.map((job) => [job.id, job.timestamp + job.delay]))
      t.ok(
        rows.every((row) => row.dueAt === due.get(row.id)),
        'delayed rows say when they are due',
      )
    }
    if (state === 'active')
      t.ok(
        rows.every((row) => typeof row.startedAt === 'number'),
        'active rows say when they started',
      )
  }

  // a page past the end is empty, with the total
  const past = (await app.inject('/api/pulse/queues/bull/live/jobs?state=waiting&page=99')).json()
  t.match(past, { total: AMOUNTS.waiting, jobs: [] })

  // the failed state without a page keeps its old answer: the snapshot's newest failed jobs
  const legacy = (await app.inject('/api/pulse/queues/bull/live/jobs?state=failed')).json()
  t.match(legacy, { state: 'failed', source: 'snapshot', total: AMOUNTS.failed })
  t.ok(legacy.jobs.length > 0 && typeof legacy.jobs[0].stacktrace?.[0] === 'string', 'with their stacks, as before')
})

t.test('pages are cached a few seconds and shared; a job removed between two reads leaves its page; vanished keys read as empty', async (t) => {
  await redis.flushall()
  const queue = new Queue('gone', { connection })
  t.teardown(() => queue.close())
  await queue.addBulk(Array.from({ length: 120 }, (_, i) => ({ name: `job-${i}`, data: { i } })))
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await discoveredQueue(app, 'bull', 'gone')
  const page = async (n = 1) => (await app.inject(`/api/pulse/queues/bull/gone/jobs?state=waiting&page=${n}`)).json()

  const first = await page()
  t.equal(first.jobs.length, 50)
  // hashes removed while their ids stay listed: what a reader meets when jobs go between its round trips
  const removed = first.jobs.slice(0, 7).map((job: { id: string }) => job.id)
  await redis.del(...removed.map((id: string) => `bull:gone:${id}`))
  t.same(await page(), first, 'within the cache period the page is served again, with no read')
  clock.advance(LIVE_PAGE_CACHE_MS)
  const after = await page()
  t.equal(after.total, 120, 'the list still counts them')
  t.same(
    after.jobs.map((job: { id: string }) => job.id),
    first.jobs.slice(7).map((job: { id: string }) => job.id),
    'jobs whose hash is gone are left out, the others keep their order',
  )

  // every key of the queue gone (obliterated) while the snapshot still shows it
  await queue.obliterate({ force: true })
  clock.advance(LIVE_PAGE_CACHE_MS)
  t.match(await page(), { total: 0, jobs: [] }, 'an obliterated queue lists nothing, without an error')

  // a state key of another type answers the page with an error, not a failure
  await redis.set('bull:gone:delayed', 'not a sorted set')
  const wrong = await app.inject('/api/pulse/queues/bull/gone/jobs?state=delayed&page=1')
  t.equal(wrong.statusCode, 200)
  t.match(wrong.json(), { jobs: [], total: null, error: /^bull:gone:delayed: WRONGTYPE/ })
})
