/**
 * The command executor against a real Redis and real BullMQ queues whose jobs really failed:
 * signed commands run once and are acknowledged; forged ones written straight into Redis are
 * never executed and come back rejected; a command sent while the agent is cut off runs once it
 * is back; execution is paced.
 */
import t, { type Test } from 'tap'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { failingQueue } from '../../../test/commands/bullmq.js'
import { deliver, resultOf, sendSigned, TOKEN, unsignedCommand } from '../../../test/commands/signed.js'
import { cuttableProxy } from '../../../test/commands/proxy.js'
import { CommandRejectedError, createKeys, signCommand, type SignedCommand } from '../../src/index.js'
import { startAgent } from './agent.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

let queueNumber = 0
async function queueWithFailures(t: Test, count: number) {
  const name = `invoices-${++queueNumber}`
  const failing = await failingQueue(redisServer.url, name, count)
  t.teardown(() => failing.close())
  return { name, ...failing }
}

function rejectionsOf(errors: unknown[]): CommandRejectedError[] {
  return errors.filter((error): error is CommandRejectedError => error instanceof CommandRejectedError)
}

t.test('RETRY_JOB: acknowledged ok, and the job really runs again', async (t) => {
  const queue = await queueWithFailures(t, 2)
  await queue.startWorker()
  const agent = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-1', queues: [queue.name] })
  const jobId = queue.failedIds[0]!
  t.equal(queue.runs.get(jobId), 1, 'it ran once and failed')

  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-1', queue: queue.name, jobId }))
  await eventually(async () => (await resultOf(redis, keys, 'billing', command.id)) !== null, 'a result')
  const result = await resultOf(redis, keys, 'billing', command.id)
  t.match(result, { id: command.id, status: 'ok', service: 'billing', nodeId: 'worker-1' })
  t.notOk(result?.reason)
  await eventually(async () => (await queue.queue.getJob(jobId).then((job) => job?.getState())) === 'completed', 'the retried job completed')
  t.equal(queue.runs.get(jobId), 2, 'it ran a second time')
  t.equal(queue.runs.get(queue.failedIds[1]!), 1, 'the other failed job was left alone')
  const ttl = await redis.ttl(keys.commandResult('billing', command.id))
  t.ok(ttl > 23 * 3600, 'the result is kept about a day')
  t.same(rejectionsOf(agent.errors), [])
})

t.test('DELETE_JOB: acknowledged ok, and the job is gone', async (t) => {
  const queue = await queueWithFailures(t, 1)
  await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-2', queues: [queue.name] })
  const jobId = queue.failedIds[0]!
  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-2', type: 'DELETE_JOB', queue: queue.name, jobId }))
  await eventually(async () => (await resultOf(redis, keys, 'billing', command.id))?.status === 'ok', 'ok')
  t.equal(await queue.queue.getJob(jobId), undefined, 'the job no longer exists')
  t.equal(await queue.queue.getFailedCount(), 0)
})

t.test('a job that cannot be retried comes back failed, with the reason', async (t) => {
  const queue = await queueWithFailures(t, 1)
  await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-3', queues: [queue.name] })
  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-3', queue: queue.name, jobId: 'no-such-job' }))
  await eventually(async () => (await resultOf(redis, keys, 'billing', command.id)) !== null, 'a result')
  const result = await resultOf(redis, keys, 'billing', command.id)
  t.equal(result?.status, 'failed')
  t.match(result?.reason, /no-such-job/)
})

t.test('forged commands written straight into Redis are never executed and come back rejected', async (t) => {
  const queue = await queueWithFailures(t, 1)
  await queue.startWorker()
  const agent = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-4', queues: [queue.name] })
  const jobId = queue.failedIds[0]!
  const target = { service: 'billing', nodeId: 'worker-4', queue: queue.name, jobId }

  const unsigned = { ...unsignedCommand(target) }
  const wrongKey = signCommand(unsignedCommand(target), 'another-token-that-is-long-enough')
  const tampered = { ...signCommand(unsignedCommand(target), TOKEN), jobId: 'another-job' }
  const elsewhere = signCommand(unsignedCommand({ ...target, nodeId: 'worker-9' }), TOKEN)
  const expired = signCommand(unsignedCommand({ ...target, issuedAt: Date.now() - 20 * 60_000, expiresAt: Date.now() - 10 * 60_000 }), TOKEN)
  const disallowed = signCommand(unsignedCommand({ ...target, type: 'FLUSH_QUEUE' }), TOKEN)
  const unknownQueue = signCommand(unsignedCommand({ ...target, queue: 'not-monitored' }), TOKEN)
  const cases: [string, { id: string }, RegExp][] = [
    ['unsigned', unsigned, /malformed/],
    ['signed with another key', wrongKey, /bad signature/],
    ['altered after signing', tampered, /bad signature/],
    ['signed for another node', elsewhere, /another node/],
    ['expired', expired, /expired/],
    ['type outside the allowlist', disallowed, /FLUSH_QUEUE is not allowed/],
    ['queue this node does not monitor', unknownQueue, /unknown queue not-monitored/],
  ]
  for (const [, command] of cases) await deliver(redis, keys, 'billing', 'worker-4', command)
  await deliver(redis, keys, 'billing', 'worker-4', 'not json at all')
  await deliver(redis, keys, 'billing', 'worker-4', { v: 1, id: 'x' })

  for (const [what, command, reason] of cases) {
    await eventually(async () => (await resultOf(redis, keys, 'billing', command.id)) !== null, `a result for ${what}`)
    const result = await resultOf(redis, keys, 'billing', command.id)
    t.equal(result?.status, 'rejected', what)
    t.match(result?.reason, reason, what)
  }
  const reported = rejectionsOf(agent.errors)
  for (const [what, command, reason] of cases) {
    t.ok(
      reported.some((error) => error.commandId === command.id && reason.test(error.reason)),
      `${what}: reported to onError`,
    )
  }
  t.ok(
    reported.some((error) => error.commandId === undefined && /malformed JSON/.test(error.reason)),
    'an entry that is not JSON is reported too',
  )
  t.ok(reported.filter((error) => error.commandId === undefined).length >= 2, 'and so is one without a valid id')
  t.equal(queue.runs.get(jobId), 1, 'the job never ran again')
  t.equal(await queue.queue.getJob(jobId).then((job) => job?.getState()), 'failed')
  t.notOk(
    agent.errors.some((error) => String(error instanceof Error ? error.message : error).includes(TOKEN)),
    'the token is never reported',
  )
})

t.test('a replayed command runs once; a replay never rewrites the result', async (t) => {
  const queue = await queueWithFailures(t, 2)
  await queue.startWorker()
  const agent = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-5', queues: [queue.name] })
  const [first, second] = queue.failedIds as [string, string]

  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-5', queue: queue.name, jobId: first }))
  await eventually(async () => (await resultOf(redis, keys, 'billing', command.id))?.status === 'ok', 'the first delivery ran')
  await eventually(() => queue.runs.get(first) === 2, 'the job ran again')
  await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-5', queue: queue.name, jobId: first, id: command.id, issuedAt: command.issuedAt, expiresAt: command.expiresAt }))
  await eventually(() => rejectionsOf(agent.errors).some((error) => error.commandId === command.id && /replayed/.test(error.reason)), 'the copy is reported as a replay')
  t.equal((await resultOf(redis, keys, 'billing', command.id))?.status, 'ok', 'the result still says how the real one ended')
  t.equal(queue.runs.get(first), 2, 'not executed twice')

  // a claimed id without a result (the agent died between the two): the copy comes back rejected
  const claimed = unsignedCommand({ service: 'billing', nodeId: 'worker-5', queue: queue.name, jobId: second })
  await redis.set(keys.commandSeen('billing', 'worker-5', claimed.id), '1-1', 'EX', 60)
  await sendSigned(redis, keys, claimed)
  await eventually(async () => (await resultOf(redis, keys, 'billing', claimed.id)) !== null, 'a result for the replay')
  t.match(await resultOf(redis, keys, 'billing', claimed.id), { status: 'rejected', reason: /replayed/ })
  t.equal(queue.runs.get(second), 1, 'not executed')
})

t.test('deleting the replay mark in Redis does not let a copy run again: the agent remembers', async (t) => {
  const queue = await queueWithFailures(t, 1)
  const agent = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-9', queues: [queue.name] })
  const [job] = queue.failedIds as [string]

  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-9', queue: queue.name, jobId: job }))
  await eventually(async () => (await resultOf(redis, keys, 'billing', command.id))?.status === 'ok', 'the first delivery ran')
  // whoever can delete keys removes the mark and the result, then adds a copy of the signed command
  await redis.del(keys.commandSeen('billing', 'worker-9', command.id), keys.commandResult('billing', command.id))
  await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-9', queue: queue.name, jobId: job, id: command.id, issuedAt: command.issuedAt, expiresAt: command.expiresAt }))
  await eventually(async () => (await resultOf(redis, keys, 'billing', command.id)) !== null, 'the copy was handled')
  t.match(await resultOf(redis, keys, 'billing', command.id), { status: 'rejected', reason: /replayed/ }, 'refused from memory, not run again')
  t.equal(await redis.exists(keys.commandSeen('billing', 'worker-9', command.id)), 0, 'not claimed again in Redis')
  t.ok(
    rejectionsOf(agent.errors).some((error) => error.commandId === command.id && /replayed/.test(error.reason)),
    'reported as a replay',
  )
})

t.test('an agent without a token refuses every command, saying why', async (t) => {
  const queue = await queueWithFailures(t, 1)
  await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-6', queues: [queue.name], token: null })
  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-6', queue: queue.name, jobId: queue.failedIds[0]! }))
  await eventually(async () => (await resultOf(redis, keys, 'billing', command.id)) !== null, 'a result')
  t.match(await resultOf(redis, keys, 'billing', command.id), { status: 'rejected', reason: /no QUASAR_TOKEN/ })
  t.equal(await queue.queue.getFailedCount(), 1)
})

t.test('sent while the agent is cut off from Redis, executed once it is back', async (t) => {
  const queue = await queueWithFailures(t, 1)
  await queue.startWorker()
  const proxy = await cuttableProxy(redisServer.port)
  t.teardown(() => proxy.close())
  const agent = await startAgent(t, { url: proxy.url, service: 'billing', nodeId: 'worker-7', queues: [queue.name], appUrl: redisServer.url })
  await eventually(async () => (await redis.pubsub('NUMSUB', keys.commandChannel('billing', 'worker-7')))[1] === 1, 'the agent listens')

  await proxy.cut()
  await eventually(async () => (await redis.pubsub('NUMSUB', keys.commandChannel('billing', 'worker-7')))[1] === 0, 'Redis saw the agent go')
  const command = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-7', queue: queue.name, jobId: queue.failedIds[0]! }))
  // the wake-up was published to nobody; only the stream remembers the command
  t.equal(await resultOf(redis, keys, 'billing', command.id), null)
  await proxy.reopen()
  await eventually(async () => (await resultOf(redis, keys, 'billing', command.id))?.status === 'ok', 'executed after the reconnect')
  await eventually(() => queue.runs.get(queue.failedIds[0]!) === 2, 'the job ran again')
  t.same(rejectionsOf(agent.errors), [])
})

t.test('sent while the agent was stopped, executed once, by the agent that starts next', async (t) => {
  const queue = await queueWithFailures(t, 2)
  const before = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-8', queues: [queue.name] })
  const early = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-8', type: 'DELETE_JOB', queue: queue.name, jobId: queue.failedIds[0]! }))
  await eventually(async () => (await resultOf(redis, keys, 'billing', early.id))?.status === 'ok', 'the first agent ran a command')
  await before.stop()

  const late = await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-8', type: 'DELETE_JOB', queue: queue.name, jobId: queue.failedIds[1]! }))
  const after = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-8', queues: [queue.name] })
  await eventually(async () => (await resultOf(redis, keys, 'billing', late.id))?.status === 'ok', 'the next agent ran the waiting command')
  t.equal(await queue.queue.getJob(queue.failedIds[1]!), undefined)
  // the entry it had already handled was read again on start (before `late`), and recognised as its own
  t.same(rejectionsOf(after.errors), [], 'no replay reported for entries handled before the restart')
  t.equal((await resultOf(redis, keys, 'billing', early.id))?.status, 'ok')
})

t.test('execution is paced: a burst of commands reaches the workers at the configured rate', async (t) => {
  const queue = await queueWithFailures(t, 25)
  await queue.startWorker()
  await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'worker-9', queues: [queue.name], perSecond: 10 })
  const commands: SignedCommand[] = []
  for (const jobId of queue.failedIds) commands.push(await sendSigned(redis, keys, unsignedCommand({ service: 'billing', nodeId: 'worker-9', queue: queue.name, jobId })))
  await eventually(async () => {
    const results = await Promise.all(commands.map((c) => resultOf(redis, keys, 'billing', c.id)))
    return results.every((r) => r?.status === 'ok')
  }, 'all 25 acknowledged')
  const finished = (await Promise.all(commands.map((c) => resultOf(redis, keys, 'billing', c.id)))).map((r) => r!.finishedAt).sort((a, b) => a - b)
  // a bucket of 10 refilled at 10/s: the 24 takes after the first need at least 1.4 s, and
  // executions are sequential, so the first finished before the second take
  t.ok(finished.at(-1)! - finished[0]! >= 1_400, `25 commands spread over ${finished.at(-1)! - finished[0]!} ms`)
  await eventually(() => queue.failedIds.every((id) => queue.runs.get(id) === 2), 'every job ran again')
})

t.test('no unhandled rejection anywhere', async (t) => {
  t.same(unhandled, [])
})
