/**
 * Several nodes of one service monitoring the same queue: one reads it (the lease), the other takes
 * over when it stops and resumes from the cursor kept in Redis, with no attempt written twice; a
 * stream trimmed past the cursor is reported, and what is still readable recorded.
 */
import t, { type Test } from 'tap'
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

function agentOf(t: Test, service: string, nodeId: string, errors: unknown[] = []): QuasarAgent {
  const agent = new QuasarAgent({ service, nodeId, url: server.url, intervalMs: 60_000, archive: { intervalMs: 30 }, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())
  return agent
}

t.test('two nodes of one service on one queue: one records, the other takes over from the cursor when it stops', async (t) => {
  const first = agentOf(t, 'pair', 'node-a').monitorQueue('shared', 'bullmq')
  const second = agentOf(t, 'pair', 'node-b').monitorQueue('shared', 'bullmq')
  await Promise.all([connected(first), connected(second)])
  first.start()
  second.start()

  const before = await runJobs(t, 'shared', 120)
  await eventually(async () => (await archivedRecords(redis, 'pair')).length >= expectedAttempts(before).length, 'first round recorded', 30_000)
  // both nodes pass a few more times: neither may write what is already written
  for (let n = 0; n < 3; n++) await Promise.all([first.recordFinishedJobs(), second.recordFinishedJobs()])
  const firstRound = await archivedRecords(redis, 'pair')
  t.same(duplicates(firstRound), [], 'no attempt written twice')
  t.same(attemptKeys(firstRound), expectedAttempts(before))
  const writers = new Set(firstRound.map((record) => record.nodeId))
  t.equal(writers.size, 1, 'one node recorded the queue')
  const [holder, other] = writers.has('node-a') ? [first, second] : [second, first]

  await holder.stop()
  const after = await runJobs(t, 'shared', 80)
  await eventually(async () => (await archivedRecords(redis, 'pair')).length >= firstRound.length + expectedAttempts(after).length, 'second round recorded', 30_000)
  await other.recordFinishedJobs()
  const all = await archivedRecords(redis, 'pair')
  t.same(duplicates(all), [], 'the new holder resumed at the cursor: nothing of the first round again')
  t.same(attemptKeys(all), [...expectedAttempts(before), ...expectedAttempts(after)].sort())
  t.same([...new Set(all.slice(firstRound.length).map((record) => record.nodeId))], [other.nodeId], 'the second round by the node that took over')
  t.same(unhandled, [])
})

t.test('an events stream trimmed past the cursor is reported, and what is readable is recorded', async (t) => {
  const errors: unknown[] = []
  const recorder = agentOf(t, 'trimmed', 'n1', errors).monitorQueue('short', 'bullmq')
  await connected(recorder)
  await runJobs(t, 'short', 4, {}, { streams: { events: { maxLen: 10 } } })
  await recorder.recordFinishedJobs()
  const recorded = (await archivedRecords(redis, 'trimmed')).length
  t.ok(recorded > 0, 'the first jobs recorded')
  t.same(errors, [], 'no gap yet')

  // many jobs finish while nobody reads: BullMQ keeps about 10 events
  await runJobs(t, 'short', 40, {}, { streams: { events: { maxLen: 10 } } })
  await recorder.recordFinishedJobs()
  const gap = errors.map(String).find((message) => message.includes('trimmed past'))
  t.ok(gap, 'the gap is reported through onError')
  t.match(gap, /queue short/)
  t.ok((await archivedRecords(redis, 'trimmed')).length > recorded, 'jobs whose events remain are recorded')
})
