/**
 * The BullMQ probe reading real BullMQ queues: counts checked against BullMQ's own getJobCounts,
 * failed-job detail against BullMQ's own Job objects, processed counts from BullMQ's metrics, and
 * missing or mistyped keys.
 */
import t from 'tap'
import { Worker } from 'bullmq'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { FAILED_JOB_LIMITS, snapshotQueueSchema } from '../../src/protocol/index.js'
import { connectionOf, failJobs, work } from './fixtures.js'
import { probeFixtures } from './bullmq-probe-fixtures.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server: server, redis } = await useRedis(t)
const connection = connectionOf(server.url)
const { queueNamed, probeOf } = probeFixtures(connection, redis)

t.test('counts match BullMQ getJobCounts in every state; the oldest waiting age comes from the job timestamp', async (t) => {
  const queue = queueNamed(t, 'counts')
  await failJobs(queue, [
    { name: 'charge', data: { order: 1 } },
    { name: 'charge', data: { order: 2 } },
  ])
  await queue.add('ok', {})
  await work(
    queue,
    async () => 'done',
    async () => (await queue.getCompletedCount()) === 1,
    'one completed',
  )
  await queue.add('wait-1', { n: 1 })
  await queue.add('wait-2', { n: 2 })
  await queue.add('urgent', { n: 3 }, { priority: 3 })
  await queue.add('later', {}, { delay: 60_000 })

  // one job held active by a worker that does not finish until told
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  await queue.add('hold', {}, { priority: 1 })
  const worker = new Worker('counts', async () => held, { connection })
  worker.on('error', () => {})
  t.teardown(async () => {
    release()
    await worker.close()
  })
  await eventually(async () => (await queue.getActiveCount()) === 1, 'one job active')
  await worker.pause(true).catch(() => {})

  const expected = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed', 'completed')
  // the worker took one waiting job; the oldest left is the first added of those still waiting
  const stillWaiting = await queue.getJobs(['wait', 'prioritized'])
  const fixedNow = Math.min(...stillWaiting.map((job) => job.timestamp)) + 90_000
  const entry = await probeOf('counts', { now: () => fixedNow }).probe()
  t.ok(snapshotQueueSchema.safeParse(entry).success, 'the entry matches the protocol')
  t.same(entry.metrics, {
    waiting: expected.wait! + expected.prioritized!,
    active: expected.active,
    delayed: expected.delayed,
    failed: expected.failed,
    completed: expected.completed,
    paused: 0,
    isPaused: false,
    waitingChildren: 0,
  })
  t.same([entry.metrics.waiting, entry.metrics.active, entry.metrics.delayed, entry.metrics.failed, entry.metrics.completed], [3, 1, 1, 2, 1], 'the numbers the setup made')
  t.equal(entry.oldestWaitingMs, 90_000, 'age of the oldest waiting job at the probe time')
})

t.test('a paused queue reports its jobs as paused, not waiting', async (t) => {
  const queue = queueNamed(t, 'pausable')
  await queue.add('a', {})
  await queue.add('b', {})
  await queue.pause()
  const paused = await probeOf('pausable').probe()
  t.same([paused.metrics.waiting, paused.metrics.paused], [0, 2])
  t.ok(paused.oldestWaitingMs! >= 0, 'paused jobs still have an age')
  await queue.resume()
  const resumed = await probeOf('pausable').probe()
  t.same([resumed.metrics.waiting, resumed.metrics.paused], [2, 0])
})

t.test('failed jobs: newest first, with id, name, reason, stack, attempts, finish time and data as BullMQ has them', async (t) => {
  const queue = queueNamed(t, 'failures')
  const failed = await failJobs(queue, [
    { name: 'send', data: { to: 'a@example.com' }, opts: { attempts: 2 } },
    { name: 'send', data: { to: 'b@example.com' } },
    { name: 'resize', data: { big: 'x'.repeat(10_000) } },
  ])
  const entry = await probeOf('failures').probe()
  t.same(
    entry.failedJobs!.map((job) => job.id),
    failed.map((job) => job.id),
    'same ids in the same order as queue.getFailed()',
  )
  for (const [n, job] of failed.entries()) {
    const reported = entry.failedJobs![n]!
    t.equal(reported.name, job.name)
    t.equal(reported.failedReason, job.failedReason)
    t.equal(reported.attemptsMade, job.attemptsMade)
    t.equal(reported.timestamp, job.finishedOn)
    t.same(reported.stacktrace, job.stacktrace)
    t.match(reported.stacktrace![0], /^Error: boom/)
  }
  const twice = entry.failedJobs!.find((job) => job.data === JSON.stringify({ to: 'a@example.com' }))
  t.equal(twice?.attemptsMade, 2, 'both attempts counted')
  t.equal(twice?.stacktrace?.length, 2, 'one stack per attempt')
  const big = entry.failedJobs!.find((job) => job.name === 'resize')!
  t.equal(big.data!.length, FAILED_JOB_LIMITS.data, 'data cut to the protocol limit')
  t.ok(big.data!.endsWith('…'), 'and the cut is marked')
})

t.test('failedPageSize bounds the page; 0 sends no failed jobs', async (t) => {
  const queue = queueNamed(t, 'paging')
  const failed = await failJobs(
    queue,
    [1, 2, 3, 4, 5].map((n) => ({ name: 'job', data: { n } })),
  )
  const two = await probeOf('paging', { failedPageSize: 2 }).probe()
  t.same(
    two.failedJobs!.map((job) => job.id),
    failed.slice(0, 2).map((job) => job.id),
    'the two newest',
  )
  t.equal(two.metrics.failed, 5, 'the count is still the whole set')
  const none = await probeOf('paging', { failedPageSize: 0 }).probe()
  t.equal(none.failedJobs, undefined)
  t.equal(none.metrics.failed, 5)
})

t.test('a payload over the read limit is named, not read', async (t) => {
  const queue = queueNamed(t, 'huge')
  await failJobs(queue, [{ name: 'import', data: { rows: 'r'.repeat(200_000) } }])
  const entry = await probeOf('huge').probe()
  t.match(entry.failedJobs![0]!.data, /^\[\d+ bytes, too large to show\]$/)
})

t.test('a custom BullMQ prefix is honoured', async (t) => {
  const queue = queueNamed(t, 'prefixed', 'acme')
  await queue.add('a', {})
  t.equal((await probeOf('prefixed', { prefix: 'acme' }).probe()).metrics.waiting, 1)
  t.equal((await probeOf('prefixed').probe()).metrics.waiting, 0, 'not found under the default prefix')
})

t.test('a failed job whose hash is gone (or is not a hash) is skipped; broken stack JSON is left out', async (t) => {
  const queue = queueNamed(t, 'damaged')
  const [newest, middle, oldest] = await failJobs(queue, [
    { name: 'a', data: {} },
    { name: 'b', data: {} },
    { name: 'c', data: {} },
  ])
  await redis.del(`bull:damaged:${newest!.id}`)
  await redis.del(`bull:damaged:${middle!.id}`)
  await redis.set(`bull:damaged:${middle!.id}`, 'not a hash')
  await redis.hset(`bull:damaged:${oldest!.id}`, 'stacktrace', '{not json', 'atm', 'many')
  const entry = await probeOf('damaged').probe()
  t.equal(entry.metrics.failed, 3, 'the set still counts three')
  t.same(
    entry.failedJobs!.map((job) => job.id),
    [oldest!.id],
  )
  t.equal(entry.failedJobs![0]!.stacktrace, undefined)
  t.equal(entry.failedJobs![0]!.attemptsMade, undefined)
  await t.rejects(probeOf('damaged').retryJob!(newest!.id!), { message: `job ${newest!.id} no longer exists` })
})

t.test('with workers collecting metrics, processed counts every finished job, even those removed', async (t) => {
  const queue = queueNamed(t, 'metered')
  const unmetered = await probeOf('metered').probe()
  t.notOk('processed' in unmetered.metrics, 'no metrics kept yet: no processed count')
  const removed = { removeOnComplete: true, removeOnFail: true }
  for (let n = 0; n < 7; n++) await queue.add('job', { fail: n >= 5 }, removed)
  const worker = new Worker(
    'metered',
    async (job) => {
      if ((job.data as { fail: boolean }).fail) throw new Error('boom')
    },
    { connection, metrics: { maxDataPoints: 60 } },
  )
  worker.on('error', () => {})
  t.teardown(() => worker.close())
  const finished = async () => (await queue.getMetrics('completed')).meta.count + (await queue.getMetrics('failed')).meta.count
  await eventually(async () => (await finished()) === 7, 'seven jobs finished')
  await worker.close()

  const entry = await probeOf('metered').probe()
  t.ok(snapshotQueueSchema.safeParse(entry).success, 'the entry matches the protocol')
  t.match(entry.metrics, { completed: 0, failed: 0, processed: 7 }, 'the finished jobs are gone, the counter is not')
  t.equal(entry.metrics.processed, await finished(), "BullMQ's own metrics agree")

  await redis.set('bull:metered:metrics:failed', 'not a hash')
  const unreadable = await probeOf('metered').probe()
  t.notOk('processed' in unreadable.metrics, 'an unreadable counter leaves the figure out')
  t.equal(unreadable.error, undefined, 'and the counts stand')
})

t.test('a key of the wrong type makes the probe fail with the key named', async (t) => {
  await redis.set('bull:wrongtype:wait', 'oops')
  await t.rejects(probeOf('wrongtype').probe(), /WRONGTYPE.*bull:wrongtype:wait/)
})

t.test('no unhandled rejection', async (t) => {
  t.same(unhandled, [])
})
