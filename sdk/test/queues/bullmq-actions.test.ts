/**
 * The BullMQ probe's retry and delete on real BullMQ queues, checked by what a real Worker and
 * BullMQ's getters see afterwards; jobs that are not failed, or are locked, refused.
 */
import t from 'tap'
import { Worker } from 'bullmq'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { connectionOf, failJobs, work } from './fixtures.js'
import { probeFixtures } from './bullmq-probe-fixtures.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server: server, redis } = await useRedis(t)
const connection = connectionOf(server.url)
const { queueNamed, probeOf } = probeFixtures(connection, redis)

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
