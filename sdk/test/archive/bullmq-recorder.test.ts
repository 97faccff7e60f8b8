/**
 * The recorder against real BullMQ workers: every attempt of hundreds of jobs (completing, failing
 * then completing, failing three times; retried at once and after a backoff) recorded once with
 * its number and its own failure reason, with jobs removed as they finish, and nothing at all
 * with `archive: false`.
 */
import t, { type Test } from 'tap'
import { Queue, Worker } from 'bullmq'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { QuasarAgent } from '../../src/index.js'
import { connectionOf } from '../queues/fixtures.js'
import { connected } from '../queues/agent-transport.js'
import { archivedRecords, attemptKeys, duplicates } from './archive-fixtures.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server, redis } = await useRedis(t)
const connection = connectionOf(server.url)

/** Job `i` fails its first `i % 4` attempts (a job failing three times has no attempt left). */
const failuresOf = (i: number) => i % 4

function expectedAttempts(ids: string[]): string[] {
  return ids
    .flatMap((id, i) => {
      const failures = failuresOf(i)
      const keys = Array.from({ length: Math.min(failures, 3) }, (_, n) => `${id}#${n + 1} failed`)
      if (failures < 3) keys.push(`${id}#${failures + 1} completed`)
      return keys
    })
    .sort()
}

async function runJobs(t: Test, name: string, count: number, opts: Parameters<Queue['add']>[2] = {}): Promise<string[]> {
  const queue = new Queue(name, { connection })
  t.teardown(() => queue.close())
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    // every other job waits for a backoff between attempts (moveToDelayed), the rest is retried at once (retryJob)
    const job = await queue.add(`job-${i % 4}`, { i }, { attempts: 3, ...(i % 2 === 0 ? { backoff: { type: 'fixed', delay: 5 } } : {}), ...opts })
    ids.push(job.id!)
  }
  const worker = new Worker(
    name,
    async (job) => {
      if (job.attemptsMade < failuresOf(job.data.i as number)) throw new Error(`boom ${job.id} attempt ${job.attemptsMade + 1}`)
      return { doubled: (job.data.i as number) * 2 }
    },
    { connection, concurrency: 8, stalledInterval: 60_000 },
  )
  worker.on('error', () => {})
  t.teardown(() => worker.close())
  const finals = count
  let finished = 0
  worker.on('completed', () => void finished++)
  worker.on('failed', (job) => {
    if (job && job.attemptsMade >= 3) finished++
  })
  await eventually(() => finished === finals, `${finals} jobs finished`, 60_000)
  return ids
}

t.test('hundreds of jobs with attempts: 3, concurrency 8: every attempt recorded once, with its number, reason and times', async (t) => {
  const agent = new QuasarAgent({ service: 'shop', nodeId: 'n1', url: server.url, intervalMs: 60_000, archive: { intervalMs: 50 } })
  t.teardown(() => agent.stop())
  agent.monitorQueue('orders', 'bullmq')
  await connected(agent)
  agent.start()
  const ids = await runJobs(t, 'orders', 300)
  const expected = expectedAttempts(ids)
  t.equal(expected.length, 675, '75 jobs each: completed at once, after 1 failure, after 2, and failed 3 times')
  await eventually(async () => (await archivedRecords(redis, 'shop')).length >= expected.length, 'every attempt recorded', 30_000)
  await agent.recordFinishedJobs()
  const records = await archivedRecords(redis, 'shop')
  t.same(duplicates(records), [], 'no attempt written twice')
  t.same(attemptKeys(records), expected, 'each attempt of each job, with the right number and state')
  for (const record of records) {
    if (record.state === 'failed') {
      if (record.failedReason !== `boom ${record.jobId} attempt ${record.attempt}`) t.fail(`job ${record.jobId} attempt ${record.attempt}: reason ${record.failedReason}`)
      if (!record.stack?.startsWith(`Error: boom ${record.jobId} attempt ${record.attempt}\n`)) t.fail(`job ${record.jobId} attempt ${record.attempt}: stack of another attempt`)
    } else if (record.result !== JSON.stringify({ doubled: Number(JSON.parse(record.data!).i) * 2 })) t.fail(`job ${record.jobId}: result ${record.result}`)
    if (!(record.startedAt! >= record.addedAt! && record.finishedAt >= record.startedAt!)) t.fail(`job ${record.jobId} attempt ${record.attempt}: times out of order`)
    if (record.durationMs !== record.finishedAt - record.startedAt!) t.fail(`job ${record.jobId}: duration`)
    if (record.queue !== 'orders' || record.nodeId !== 'n1' || record.driver !== 'bullmq' || !record.name?.startsWith('job-')) t.fail(`job ${record.jobId}: identity ${JSON.stringify(record)}`)
  }
  t.pass('every record checked')
  t.same(unhandled, [])
})

t.test('jobs removed as they finish (removeOnComplete, removeOnFail) are still recorded, from their events', async (t) => {
  const agent = new QuasarAgent({ service: 'gone', nodeId: 'n1', url: server.url, intervalMs: 60_000, archive: { intervalMs: 50 } })
  t.teardown(() => agent.stop())
  agent.monitorQueue('ephemeral', 'bullmq')
  await connected(agent)
  agent.start()
  const ids = await runJobs(t, 'ephemeral', 60, { removeOnComplete: true, removeOnFail: true })
  const expected = expectedAttempts(ids)
  await eventually(async () => (await archivedRecords(redis, 'gone')).length >= expected.length, 'every attempt recorded', 30_000)
  await agent.recordFinishedJobs()
  const records = await archivedRecords(redis, 'gone')
  t.same(duplicates(records), [])
  t.same(attemptKeys(records), expected)
  const lastFailures = records.filter((record) => record.state === 'failed' && record.attempt === 3)
  t.equal(lastFailures.length, 15, 'the 15 jobs that failed all their attempts')
  t.ok(
    lastFailures.every((record) => record.failedReason === `boom ${record.jobId} attempt 3`),
    'the final failure keeps its reason (from the event)',
  )
})

t.test('archive: false records nothing while the agent beats and jobs finish', async (t) => {
  const agent = new QuasarAgent({ service: 'quiet', nodeId: 'n1', url: server.url, intervalMs: 50, archive: false })
  t.teardown(() => agent.stop())
  agent.monitorQueue('silent', 'bullmq')
  await connected(agent)
  agent.start()
  await runJobs(t, 'silent', 12)
  const beats = agent.beatCounts.written
  await eventually(() => agent.beatCounts.written >= beats + 3, 'three more beats')
  await agent.recordFinishedJobs()
  t.equal(await redis.exists('gravito:quasar:archive:quiet'), 0, 'no archive stream')
  t.same(await redis.keys('gravito:quasar:recorder:quiet:*'), [], 'no lease or cursor either')
})
