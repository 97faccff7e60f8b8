/**
 * What the PHP and Python reference agents do with the commands in their stream, signed here the
 * way the console signs them or forged: each check of PROTOCOL.md "Receiving" gives its own
 * answer, valid commands run exactly once on the job store, a copy is refused, and a second pass
 * over the same stream runs nothing again. A token under 16 characters turns commands off.
 */
import t from 'tap'
import { COMMAND_TTL_MS, createKeys, signCommand, type UnsignedCommand } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { deliver, resultOf, sendSigned, TOKEN, unsignedCommand } from '../commands/signed.js'
import { AGENT_KINDS, referenceAgent } from './reference-agent.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

for (const kind of AGENT_KINDS) {
  t.test(`${kind}: every check answers for itself; valid commands run once`, async (t) => {
    const service = `${kind}-cmd`
    const nodeId = `${kind}-1`
    const store = `store:${service}:mail`
    const agent = referenceAgent(kind, { REDIS_URL: redisServer.url, SERVICE: service, NODE_ID: nodeId, QUASAR_TOKEN: TOKEN, QUEUES: 'mail', JOB_STORE: `store:${service}` })
    const ids: Record<string, string> = {}
    for (const name of ['flaky-0', 'flaky-1']) ids[name] = await agent.enqueue('mail', name, { failTimes: 1 })
    for (const name of ['broken-0', 'broken-1']) ids[name] = await agent.enqueue('mail', name, { failTimes: 99 })
    t.equal((await agent.once()).code, 0)
    t.equal(await redis.zcard(`${store}:failed`), 4)

    const now = Date.now()
    const base = (jobId: string, fields: Partial<UnsignedCommand> = {}) => unsignedCommand({ service, nodeId, queue: 'mail', jobId, ...fields })
    const retry = base(ids['flaky-0']!)
    const remove = base(ids['broken-0']!, { type: 'DELETE_JOB' })
    const expected: Array<{ id: string; status: string; reason?: string | RegExp }> = []
    const send = async (command: UnsignedCommand, status: string, reason?: string, token = TOKEN) => {
      // always into this node's stream, whatever node the command names
      await deliver(redis, keys, service, nodeId, signCommand(command, token))
      expected.push({ id: command.id, status, ...(reason === undefined ? {} : { reason }) })
    }
    // a different order per agent: each check must stand on its own
    const sends = [
      () => send(retry, 'ok'),
      () => send(remove, 'ok'),
      () => send(base(ids['flaky-1']!), 'rejected', 'bad signature', 'another-token-0123456789'),
      () => send(base(ids['flaky-1']!, { nodeId: 'someone-else' }), 'rejected', 'addressed to another node'),
      () => send(base(ids['flaky-1']!, { issuedAt: now - 2 * COMMAND_TTL_MS, expiresAt: now - COMMAND_TTL_MS }), 'rejected', 'expired'),
      () => send(base(ids['flaky-1']!, { expiresAt: now + 2 * COMMAND_TTL_MS }), 'rejected', 'expires too far in the future'),
      () => send(base(ids['flaky-1']!, { type: 'FLUSH_QUEUE' }), 'rejected', 'command type FLUSH_QUEUE is not allowed'),
      () => send(base(ids['flaky-1']!, { queue: 'invoices' }), 'rejected', 'queue invoices is not monitored by this node'),
      () => send(base('12345'), 'failed', 'job 12345 is not failed'),
      async () => {
        const malformed = base(ids['flaky-1']!)
        const { jobId: _dropped, ...rest } = signCommand(malformed, TOKEN)
        await deliver(redis, keys, service, nodeId, rest)
        expected.push({ id: malformed.id, status: 'rejected', reason: 'malformed command' })
      },
      () => deliver(redis, keys, service, nodeId, 'not json at all'),
    ]
    for (const run of kind === 'php' ? sends : [...sends].reverse()) await run()
    // a copy of the retry, in an entry of its own, after the original
    await deliver(redis, keys, service, nodeId, signCommand(retry, TOKEN))

    const first = await agent.once()
    t.equal(first.code, 0, first.stderr)
    for (const { id, status, reason } of expected) {
      t.match(await resultOf(redis, keys, service, id), { id, status, service, nodeId, ...(reason ? { reason } : {}) }, `${status} ${reason ?? ''}`)
    }
    t.match(first.stderr, /replayed/, 'the copy is refused and logged')
    t.match(first.stderr, /malformed command/, 'an entry without a readable id is logged, with no result')

    t.equal(await redis.zscore(`${store}:failed`, ids['flaky-0']!), null, 'retried: no longer failed')
    t.equal(await redis.hexists(`${store}:jobs`, ids['flaky-0']!), 0, 'and it ran again, successfully, in the same pass')
    t.equal(await redis.hexists(`${store}:jobs`, ids['broken-0']!), 0, 'deleted')
    t.same((await redis.zrange(`${store}:failed`, 0, -1)).sort(), [ids['flaky-1'], ids['broken-1']].sort(), 'nothing else touched')

    // the same stream read again by a new run: nothing runs twice, no result changes
    const before = await Promise.all(expected.map(({ id }) => redis.get(keys.commandResult(service, id))))
    const second = await agent.once()
    t.equal(second.code, 0, second.stderr)
    t.same(await Promise.all(expected.map(({ id }) => redis.get(keys.commandResult(service, id)))), before)
    t.same((await redis.zrange(`${store}:failed`, 0, -1)).sort(), [ids['flaky-1'], ids['broken-1']].sort())
  })

  t.test(`${kind}: a token under 16 characters turns commands off and undeclares them`, async (t) => {
    const service = `${kind}-short`
    const nodeId = `${kind}-2`
    const agent = referenceAgent(kind, { REDIS_URL: redisServer.url, SERVICE: service, NODE_ID: nodeId, QUASAR_TOKEN: 'short-token', QUEUES: 'mail', JOB_STORE: `store:${service}` })
    const jobId = await agent.enqueue('mail', 'broken', { failTimes: 99 })
    const command = unsignedCommand({ service, nodeId, queue: 'mail', jobId, type: 'DELETE_JOB' })
    await sendSigned(redis, keys, command, 'short-token')
    const run = await agent.once()
    t.equal(run.code, 0)
    t.match(run.stderr, /QUASAR_TOKEN is shorter than 16 characters; commands are disabled/)
    t.notMatch(run.stderr, /short-token/, 'the token is never logged')
    t.match(await resultOf(redis, keys, service, command.id), { status: 'rejected', reason: 'agent has no QUASAR_TOKEN; commands are disabled' })
    t.equal(await redis.zcard(`store:${service}:mail:failed`), 1, 'the job is still there')
    const snapshot = JSON.parse((await redis.get(keys.queues(service)))!)
    t.equal(snapshot.queues[0].name, 'mail')
    t.notOk('commands' in snapshot.queues[0], 'no commands declared: the console shows the queue read-only')
  })
}
