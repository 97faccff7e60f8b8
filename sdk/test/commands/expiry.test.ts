/**
 * Each expiry check of the command executor on its own, against a real Redis with a fake clock
 * and a pacing bucket the test controls: expired on arrival (refused before it waits for pacing),
 * valid for longer than a command lives, expired while it waited for its turn, and an entry older
 * than the start window (never read). Each case is built so that only its own check can stop it:
 * every other check passes, so removing that one check lets the command run.
 */
import t, { type Test } from 'tap'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { deliver, resultOf, TOKEN, unsignedCommand } from '../../../test/commands/signed.js'
import { COMMAND_CLOCK_SKEW_MS, COMMAND_FIELD, COMMAND_TTL_MS, CommandRejectedError, createCommandExecutor, createKeys, signCommand, type CommandHost, type QueueProbe } from '../../src/index.js'

const { redis } = await useRedis(t)
const keys = createKeys()

let nodeNumber = 0

/** An executor for a fresh node, a fake clock, a probe that records what it ran, a counting bucket. */
function setup(t: Test) {
  const nodeId = `node-${++nodeNumber}`
  let now = Date.now()
  const ran: string[] = []
  const errors: unknown[] = []
  let taken = 0
  /** what one wait for pacing costs, in fake time */
  let pacingMs = 0
  const probe: QueueProbe = {
    name: 'emails',
    driver: 'bullmq',
    probe: async () => ({ name: 'emails', driver: 'bullmq', metrics: { waiting: 0 } }),
    retryJob: async (jobId) => void ran.push(jobId),
  }
  const host: CommandHost = {
    service: 'billing',
    nodeId,
    keys,
    transport: redis,
    tokenForSigning: () => TOKEN,
    report: (error) => void errors.push(error),
    queueProbe: (name) => (name === 'emails' ? probe : undefined),
  }
  const executor = createCommandExecutor(host, {
    now: () => now,
    wakeUp: false,
    bucket: {
      take: async () => {
        taken++
        now += pacingMs
        return true
      },
      close: () => {},
    },
  })
  t.teardown(() => executor.stop())
  const send = async (fields: { issuedAt?: number; expiresAt?: number; jobId?: string }) => {
    const command = signCommand(unsignedCommand({ service: 'billing', nodeId, queue: 'emails', jobId: fields.jobId ?? 'job-1', ...fields }), TOKEN)
    await deliver(redis, keys, 'billing', nodeId, command)
    return command
  }
  return {
    nodeId,
    executor,
    send,
    ran,
    errors,
    clock: () => now,
    get taken() {
      return taken
    },
    setPacing: (ms: number) => void (pacingMs = ms),
    rejections: () => errors.filter((error): error is CommandRejectedError => error instanceof CommandRejectedError).map((error) => error.reason),
    result: (id: string) => resultOf(redis, keys, 'billing', id),
  }
}

t.test('expired on arrival: refused before it waits for pacing, never run', async (t) => {
  const node = setup(t)
  const expired = await node.send({ issuedAt: node.clock() - COMMAND_TTL_MS - 1, expiresAt: node.clock() - 1, jobId: 'late' })
  const atTheEdge = await node.send({ issuedAt: node.clock() - COMMAND_TTL_MS, expiresAt: node.clock(), jobId: 'edge' })
  await node.executor.poll()
  t.match(await node.result(expired.id), { status: 'rejected', reason: 'expired' })
  t.match(await node.result(atTheEdge.id), { status: 'ok' }, 'one expiring this very ms still runs')
  t.same(node.ran, ['edge'])
  t.equal(node.taken, 1, 'only the command that runs waited for pacing')
  t.same(node.rejections(), ['expired'])
})

t.test('valid for longer than a command lives: refused, never run', async (t) => {
  const node = setup(t)
  const limit = node.clock() + COMMAND_TTL_MS + COMMAND_CLOCK_SKEW_MS
  const tooLong = await node.send({ issuedAt: node.clock(), expiresAt: limit + 1, jobId: 'forever' })
  const longest = await node.send({ issuedAt: node.clock(), expiresAt: limit, jobId: 'longest' })
  await node.executor.poll()
  t.match(await node.result(tooLong.id), { status: 'rejected', reason: 'expires too far in the future' })
  t.match(await node.result(longest.id), { status: 'ok' }, 'the longest allowed lifetime runs')
  t.same(node.ran, ['longest'])
  t.same(node.rejections(), ['expires too far in the future'])
})

t.test('expired while it waited for its turn: refused, never claimed, never run', async (t) => {
  const node = setup(t)
  const command = await node.send({ issuedAt: node.clock(), expiresAt: node.clock() + 1_000, jobId: 'paced' })
  // the pacing holds it one ms past its expiry
  node.setPacing(1_001)
  await node.executor.poll()
  t.equal(node.taken, 1, 'it passed the checks on arrival and waited for its turn')
  t.match(await node.result(command.id), { status: 'rejected', reason: 'expired' })
  t.same(node.ran, [])
  t.equal(await redis.exists(keys.commandSeen('billing', node.nodeId, command.id)), 0, 'not claimed: no replay mark')

  const inTime = await node.send({ issuedAt: node.clock(), expiresAt: node.clock() + 1_000, jobId: 'in-time' })
  node.setPacing(1_000)
  await node.executor.poll()
  t.match(await node.result(inTime.id), { status: 'ok' }, 'a wait that ends at the expiry still runs')
  t.same(node.ran, ['in-time'])
})

t.test('an entry older than the start window is never read, whatever its command says', async (t) => {
  const now = Date.now()
  const nodeId = `node-${++nodeNumber}`
  const stream = keys.commandStream('billing', nodeId)
  // an entry Redis stamped before the window, carrying a command that is itself still valid
  const oldEntryAt = now - COMMAND_TTL_MS - COMMAND_CLOCK_SKEW_MS - 60_000
  const old = signCommand(unsignedCommand({ service: 'billing', nodeId, queue: 'emails', jobId: 'from-the-past', issuedAt: now }), TOKEN)
  await redis.xadd(stream, `${oldEntryAt}-0`, COMMAND_FIELD, JSON.stringify(old))
  const recent = signCommand(unsignedCommand({ service: 'billing', nodeId, queue: 'emails', jobId: 'recent', issuedAt: now }), TOKEN)
  await redis.xadd(stream, `${now - COMMAND_TTL_MS}-0`, COMMAND_FIELD, JSON.stringify(recent))

  const ran: string[] = []
  const errors: unknown[] = []
  const executor = createCommandExecutor(
    {
      service: 'billing',
      nodeId,
      keys,
      transport: redis,
      tokenForSigning: () => TOKEN,
      report: (error) => void errors.push(error),
      queueProbe: () => ({ name: 'emails', driver: 'bullmq', probe: async () => ({ name: 'emails', driver: 'bullmq', metrics: { waiting: 0 } }), retryJob: async (jobId) => void ran.push(jobId) }),
    },
    { now: () => now, wakeUp: false, bucket: { take: async () => true, close: () => {} } },
  )
  t.teardown(() => executor.stop())
  await executor.poll()
  t.same(ran, ['recent'], 'only the entry inside the window ran')
  t.equal(await resultOf(redis, keys, 'billing', old.id), null, 'the old entry has no result')
  t.same(errors, [], 'and nothing was reported about it')
})
