/**
 * The recorder against real BullMQ workers: every attempt of hundreds of jobs (completing, failing
 * then completing, failing three times; retried at once and after a backoff) recorded once with
 * its number and its own failure reason, with jobs removed as they finish, and nothing at all
 * with `archive: false`.
 */
import t from 'tap'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { QuasarAgent } from '../../src/index.js'
import { connectionOf } from '../queues/fixtures.js'
import { connected } from '../queues/agent-transport.js'
import { archivedRecords, attemptKeys, duplicates } from './archive-fixtures.js'
import { expectedAttempts, jobRunner } from './bullmq-jobs.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server, redis } = await useRedis(t)
const runJobs = jobRunner(connectionOf(server.url))

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

t.test('a backlog read at once (the agent started after the jobs finished): each attempt keeps its own number, reason and stack', async (t) => {
  const ids = await runJobs(t, 'backlog', 80)
  const agent = new QuasarAgent({ service: 'late', nodeId: 'n1', url: server.url, intervalMs: 60_000 })
  t.teardown(() => agent.stop())
  agent.monitorQueue('backlog', 'bullmq')
  await connected(agent)
  for (let n = 0; n < 4; n++) await agent.recordFinishedJobs()
  const records = await archivedRecords(redis, 'late')
  t.same(duplicates(records), [])
  t.same(attemptKeys(records), expectedAttempts(ids))
  const wrong = records.filter((record) => record.state === 'failed' && (record.failedReason !== `boom ${record.jobId} attempt ${record.attempt}` || !record.stack?.startsWith(`Error: ${record.failedReason}\n`)))
  t.same(
    wrong.map((record) => `${record.jobId}#${record.attempt}: ${record.failedReason}`),
    [],
    'every failed attempt with its own reason and stack',
  )
  const retried = records.filter((record) => record.attempt > 1 && record.waitMs !== undefined)
  t.ok(retried.length > 0 && retried.every((record) => record.waitMs! >= 0), 'later attempts wait from the previous end or due time')
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
