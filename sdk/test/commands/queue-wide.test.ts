/**
 * Queue-wide commands against real BullMQ queues with 150+ jobs that really failed: every failed
 * job is retried (and runs again) or deleted, page by page, with progress written between pages
 * and final counts in the result; a job that fails again during the run is not retried twice;
 * jobs that cannot be acted on are counted and stepped over; a queue-wide type must name no job.
 */
import t, { type Test } from 'tap'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { failingQueue } from '../../../test/commands/bullmq.js'
import { resultOf, sendSigned, unsignedCommand } from '../../../test/commands/signed.js'
import { ALL_FAILED_JOB_ID, createKeys, type CommandResult } from '../../src/index.js'
import { startAgent } from './agent.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

let queueNumber = 0
async function queueWithFailures(t: Test, count: number) {
  const name = `reports-${++queueNumber}`
  const failing = await failingQueue(redisServer.url, name, count)
  t.teardown(() => failing.close())
  return { name, ...failing }
}

/** Every result the agent wrote for `id`, in order, sampled as fast as Redis answers. */
function watchResults(service: string, id: string) {
  const seen: CommandResult[] = []
  let watching = true
  const done = (async () => {
    while (watching) {
      const result = await resultOf(redis, keys, service, id)
      if (result && JSON.stringify(result) !== JSON.stringify(seen.at(-1))) seen.push(result)
      if (result && result.status !== 'running') return
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  return {
    seen,
    async final() {
      await eventually(async () => seen.at(-1) !== undefined && seen.at(-1)!.status !== 'running', 'a final result', 60_000)
      watching = false
      await done
      return seen.at(-1)!
    },
  }
}

t.test('RETRY_ALL_FAILED retries all 160 failed jobs, page by page, and each runs again', async (t) => {
  const queue = await queueWithFailures(t, 160)
  await queue.startWorker()
  await startAgent(t, { url: redisServer.url, service: 'reports', nodeId: 'worker-1', queues: [queue.name] })
  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'reports', nodeId: 'worker-1', type: 'RETRY_ALL_FAILED', queue: queue.name, jobId: ALL_FAILED_JOB_ID }))
  const watch = watchResults('reports', command.id)
  const final = await watch.final()
  t.match(final, { id: command.id, status: 'ok', progress: { done: 160, total: 160, errors: 0 }, service: 'reports', nodeId: 'worker-1' })
  const running = watch.seen.filter((result) => result.status === 'running')
  t.ok(running.length >= 1, 'progress was written before the end')
  t.match(running[0], { progress: { done: 100, total: 160, errors: 0 } }, 'the first page is 100 jobs')
  await eventually(async () => (await queue.queue.getCompletedCount()) === 160, 'all 160 retried jobs completed')
  t.equal(await queue.queue.getFailedCount(), 0)
  t.ok(
    queue.failedIds.every((id) => queue.runs.get(id) === 2),
    'every job ran exactly twice: failed once, retried once',
  )
})

t.test('DELETE_ALL_FAILED deletes all 155 failed jobs and leaves the others', async (t) => {
  const queue = await queueWithFailures(t, 155)
  await queue.queue.add('kept', { waiting: true })
  await startAgent(t, { url: redisServer.url, service: 'reports', nodeId: 'worker-2', queues: [queue.name] })
  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'reports', nodeId: 'worker-2', type: 'DELETE_ALL_FAILED', queue: queue.name, jobId: ALL_FAILED_JOB_ID }))
  const final = await watchResults('reports', command.id).final()
  t.match(final, { status: 'ok', progress: { done: 155, total: 155, errors: 0 } })
  t.equal(await queue.queue.getFailedCount(), 0)
  for (const id of queue.failedIds.slice(0, 5)) t.equal(await queue.queue.getJob(id), undefined, `job ${id} is gone`)
  t.equal(await queue.queue.getWaitingCount(), 1, 'the waiting job is untouched')
})

t.test('jobs that cannot be retried are counted, stepped over, and named in the reason', async (t) => {
  const queue = await queueWithFailures(t, 120)
  const locked = [queue.failedIds[3]!, queue.failedIds[110]!]
  // a worker's lock makes BullMQ refuse to move the job
  for (const id of locked) await redis.set(`bull:${queue.name}:${id}:lock`, 'a-worker-token')
  await startAgent(t, { url: redisServer.url, service: 'reports', nodeId: 'worker-3', queues: [queue.name] })
  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'reports', nodeId: 'worker-3', type: 'RETRY_ALL_FAILED', queue: queue.name, jobId: ALL_FAILED_JOB_ID }))
  const final = await watchResults('reports', command.id).final()
  t.match(final, { status: 'failed', progress: { done: 118, total: 120, errors: 2 } })
  t.match(final.reason, /^2 of 120 jobs could not be retried; the first: job \S+ is locked by a worker/)
  t.same((await queue.queue.getFailed(0, -1)).map((job) => job.id).sort(), [...locked].sort(), 'only the locked jobs are still failed')
})

t.test('a job that fails again during the run is not retried a second time', async (t) => {
  const queue = await queueWithFailures(t, 150)
  // a worker that fails every job again: without the start-time bound the run would chase them
  const { Worker } = await import('bullmq')
  const { hostname, port } = new URL(redisServer.url)
  let failedAgain = 0
  const worker = new Worker(
    queue.name,
    async () => {
      failedAgain++
      throw new Error('still broken')
    },
    { connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null }, concurrency: 20 },
  )
  worker.on('error', () => {})
  t.teardown(() => worker.close())
  await startAgent(t, { url: redisServer.url, service: 'reports', nodeId: 'worker-4', queues: [queue.name] })
  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'reports', nodeId: 'worker-4', type: 'RETRY_ALL_FAILED', queue: queue.name, jobId: ALL_FAILED_JOB_ID }))
  const final = await watchResults('reports', command.id).final()
  t.match(final, { status: 'ok', progress: { done: 150, total: 150, errors: 0 } }, 'each of the 150 jobs retried once, none twice')
  await eventually(async () => (await queue.queue.getFailedCount()) === 150 && (await queue.queue.getActiveCount()) === 0 && (await queue.queue.getWaitingCount()) === 0, 'all failed again')
  t.equal(failedAgain, 150, 'each job ran once more, not twice')
})

t.test('a queue-wide type naming a job, or a job type naming none, is rejected unrun', async (t) => {
  const queue = await queueWithFailures(t, 2)
  await startAgent(t, { url: redisServer.url, service: 'reports', nodeId: 'worker-5', queues: [queue.name] })
  const wide = await sendSigned(redis, keys, unsignedCommand({ service: 'reports', nodeId: 'worker-5', type: 'DELETE_ALL_FAILED', queue: queue.name, jobId: queue.failedIds[0]! }))
  const single = await sendSigned(redis, keys, unsignedCommand({ service: 'reports', nodeId: 'worker-5', type: 'DELETE_JOB', queue: queue.name, jobId: ALL_FAILED_JOB_ID }))
  await eventually(async () => (await resultOf(redis, keys, 'reports', single.id)) !== null && (await resultOf(redis, keys, 'reports', wide.id)) !== null, 'both answered')
  t.match(await resultOf(redis, keys, 'reports', wide.id), { status: 'rejected', reason: 'DELETE_ALL_FAILED names no job: its jobId must be *' })
  t.match(await resultOf(redis, keys, 'reports', single.id), { status: 'rejected', reason: 'DELETE_JOB needs a job id' })
  t.equal(await queue.queue.getFailedCount(), 2, 'nothing was deleted')
})
