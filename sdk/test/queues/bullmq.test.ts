/**
 * The BullMQ probe against real BullMQ queues: counts checked against BullMQ's own getJobCounts,
 * failed-job detail against BullMQ's own Job objects, and retry/delete checked by what a real
 * Worker and BullMQ's getters see afterwards.
 */
import t, { type Test } from 'tap'
import { Queue, Worker } from 'bullmq'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { FAILED_JOB_LIMITS, snapshotQueueSchema } from '../../src/protocol/index.js'
import { createBullmqProbe } from '../../src/queues/bullmq.js'
import { connectionOf, failJobs, work } from './fixtures.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server: server, redis } = await useRedis(t)
const connection = connectionOf(server.url)

function queueNamed(t: Test, name: string, prefix?: string): Queue {
  const queue = new Queue(name, { connection, ...(prefix ? { prefix } : {}) })
  t.teardown(() => queue.close())
  return queue
}

const probeOf = (name: string, options: { prefix?: string; failedPageSize?: number; now?: () => number } = {}) =>
  createBullmqProbe(name, { redis, prefix: options.prefix ?? 'bull', failedPageSize: options.failedPageSize ?? 20, ...(options.now ? { now: options.now } : {}) })

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

t.test('retry: the job goes back to wait and an idle Worker, blocked on the marker, processes it', async (t) => {
  const queue = queueNamed(t, 'retry')
  const [job] = await failJobs(queue, [{ name: 'charge', data: { order: 7 }, opts: { attempts: 1 } }])
  const processed: string[] = []
  // a long drainDelay: without the marker the worker would not look at `wait` again for a minute
  const worker = new Worker(
    'retry',
    async (current) => {
      processed.push(current.id!)
      return 'charged'
    },
    { connection, drainDelay: 60 },
  )
  worker.on('error', () => {})
  t.teardown(() => worker.close())
  await worker.waitUntilReady()
  await new Promise((resolve) => setTimeout(resolve, 300)) // let it block on the marker

  const probe = probeOf('retry')
  await probe.retryJob!(job!.id!)
  await eventually(async () => (await queue.getJobState(job!.id!)) === 'completed', 'the retried job completed')
  t.same(processed, [job!.id])
  const done = await queue.getJob(job!.id!)
  t.equal(done!.returnvalue, 'charged')
  t.equal(done!.attemptsMade, 1, 'attempts started over')
  t.equal(done!.failedReason, undefined, 'the old failure is cleared')
  t.equal(await queue.getFailedCount(), 0)
  const events = await redis.xrange('bull:retry:events', '-', '+')
  t.ok(
    events.some(([, fields]) => fields.join(' ') === `event waiting jobId ${job!.id} prev failed`),
    'the waiting event is on the events stream',
  )
})

t.test('retry keeps priority: a prioritized failed job is retried into the prioritized set', async (t) => {
  const queue = queueNamed(t, 'retry-priority')
  const [job] = await failJobs(queue, [{ name: 'p', data: {}, opts: { priority: 2 } }])
  await probeOf('retry-priority').retryJob!(job!.id!)
  t.equal(await queue.getJobState(job!.id!), 'prioritized')
  await work(
    queue,
    async () => 'ok',
    async () => (await queue.getJobState(job!.id!)) === 'completed',
    'completed',
  )
  t.pass('a worker completed it')
})

t.test('retry into a paused queue: waiting, no marker, processed after resume', async (t) => {
  const queue = queueNamed(t, 'retry-paused')
  const [job] = await failJobs(queue, [{ name: 'p', data: {} }])
  await queue.pause()
  await probeOf('retry-paused').retryJob!(job!.id!)
  t.equal(await queue.getJobState(job!.id!), 'waiting')
  t.equal(await redis.exists('bull:retry-paused:marker'), 0, 'no marker while paused')
  await queue.resume()
  await work(
    queue,
    async () => 'ok',
    async () => (await queue.getJobState(job!.id!)) === 'completed',
    'completed',
  )
  t.pass('processed after resume')
})

t.test('a retried job that fails again is back in the failed set with its new attempt', async (t) => {
  const queue = queueNamed(t, 'retry-again')
  const [job] = await failJobs(queue, [{ name: 'x', data: {} }], 'first')
  await probeOf('retry-again').retryJob!(job!.id!)
  await work(
    queue,
    async () => {
      throw new Error('second')
    },
    async () => (await queue.getJobState(job!.id!)) === 'failed',
    'failed again',
  )
  const again = await queue.getJob(job!.id!)
  t.equal(again!.failedReason, 'second')
  t.equal(again!.attemptsMade, 1)
})

t.test('delete: the job, its logs and its failed entry are gone, as after job.remove()', async (t) => {
  const queue = queueNamed(t, 'delete')
  const [first, second] = await failJobs(queue, [
    { name: 'a', data: {} },
    { name: 'b', data: {} },
  ])
  t.equal(await redis.exists(`bull:delete:${first!.id}:logs`), 1, 'the job had logs')
  await probeOf('delete').deleteJob!(first!.id!)
  t.equal(await queue.getJob(first!.id!), undefined)
  t.equal(await queue.getFailedCount(), 1)
  t.equal(await redis.exists(`bull:delete:${first!.id}:logs`), 0, 'logs removed')
  t.ok(await queue.getJob(second!.id!), 'the other failed job is untouched')
  const events = await redis.xrange('bull:delete:events', '-', '+')
  t.ok(
    events.some(([, fields]) => fields.join(' ') === `event removed jobId ${first!.id} prev failed`),
    'removed event emitted',
  )
})

t.test('retry and delete refuse a job that is not failed, with a one-line reason', async (t) => {
  const queue = queueNamed(t, 'refuse')
  const waiting = await queue.add('w', {})
  const probe = probeOf('refuse')
  await t.rejects(probe.retryJob!(waiting.id!), { message: `job ${waiting.id} is not failed` })
  await t.rejects(probe.deleteJob!(waiting.id!), { message: `job ${waiting.id} is not failed` })
  await t.rejects(probe.retryJob!('no-such-job'), { message: 'job no-such-job is not failed' })
  await t.rejects(probe.deleteJob!(''), /job id must be/)
  await t.rejects(probe.retryJob!('x'.repeat(257)), /job id must be/)
  t.equal(await queue.getJobState(waiting.id!), 'waiting', 'the waiting job was not touched')
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

t.test('a locked job (being processed) cannot be deleted', async (t) => {
  const queue = queueNamed(t, 'locked')
  const [job] = await failJobs(queue, [{ name: 'a', data: {} }])
  await redis.set(`bull:locked:${job!.id}:lock`, 'some-worker-token')
  await t.rejects(probeOf('locked').deleteJob!(job!.id!), { message: `job ${job!.id} is locked by a worker` })
  t.ok(await queue.getJob(job!.id!), 'still there')
})

t.test('no unhandled rejection', async (t) => {
  t.same(unhandled, [])
})
