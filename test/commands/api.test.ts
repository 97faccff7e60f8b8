/**
 * The commands API end to end: the console signs and sends, a real agent executes on a real BullMQ
 * queue whose jobs really failed, the result comes back through the snapshot. Plus every refusal:
 * disallowed type (400, nothing sent), unknown or read-only target, viewer, commands disabled.
 */
import t from 'tap'
import { createKeys, signCommand } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { fakeClock } from '../helpers/app.js'
import { EXPIRY_GRACE_MS } from '../../server/commands/collector-part.js'
import { COMMAND_TTL_MS } from '@gravito/quasar/protocol'
import { JSON_HEADERS, loginAs, startConsole, startWorker, waitForFailed, waitForFinal } from './fixture.js'
import { TOKEN } from './signed.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

const post = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST' as const, url: '/api/pulse/command', headers: { ...JSON_HEADERS, ...headers }, payload: JSON.stringify(body) })

t.test('RETRY_JOB through the API: 202, pending, then ok, and the job really ran again', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'api-1', failures: 2 })
  await worker.queue.startWorker()
  await waitForFailed(app, worker, 2)
  const jobId = worker.queue.failedIds[0]!

  const sent = await app.inject(post({ service: 'billing', nodeId: 'api-1', type: 'RETRY_JOB', queue: worker.name, jobId }))
  t.equal(sent.statusCode, 202)
  const { id } = sent.json() as { id: string }
  t.match(id, /^[A-Za-z0-9_-]{8,64}$/)
  t.equal(sent.headers.location, `/api/pulse/command/${id}`)

  // before any tick: the console that sent it already knows it
  const pending = (await app.inject(`/api/pulse/command/${id}`)).json()
  t.match(pending, { id, status: 'pending', type: 'RETRY_JOB', service: 'billing', nodeId: 'api-1', queue: worker.name, jobId, sentBy: 'anonymous' })
  t.type(pending.sentAt, 'number')
  t.notOk('finishedAt' in pending)

  const final = await waitForFinal(app, id)
  t.match(final, { id, status: 'ok', sentBy: 'anonymous' })
  t.type(final.finishedAt, 'number')
  await eventually(() => worker.queue.runs.get(jobId) === 2, 'the job ran a second time')
  t.equal(await worker.queue.queue.getJob(jobId).then((job) => job?.getState()), 'completed')
  t.equal(worker.queue.runs.get(worker.queue.failedIds[1]!), 1, 'the other job was not touched')

  // what went over the wire: one signed entry in the node's stream
  const entries = await redis.xrange(keys.commandStream('billing', 'api-1'), '-', '+')
  t.equal(entries.length, 1)
  const wire = JSON.parse(entries[0]![1][1]!)
  t.equal(wire.signature, signCommand({ ...wire, signature: undefined }, TOKEN).signature, 'signed with QUASAR_TOKEN')
  t.equal(wire.expiresAt - wire.issuedAt, COMMAND_TTL_MS)
})

t.test('DELETE_JOB through the API: ok, and the job is gone', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'api-2', failures: 1 })
  await waitForFailed(app, worker, 1)
  const jobId = worker.queue.failedIds[0]!
  const sent = await app.inject(post({ service: 'billing', nodeId: 'api-2', type: 'DELETE_JOB', queue: worker.name, jobId }))
  t.equal(sent.statusCode, 202)
  t.match(await waitForFinal(app, sent.json().id), { status: 'ok', type: 'DELETE_JOB' })
  t.equal(await worker.queue.queue.getJob(jobId), undefined)
})

t.test('a job the agent cannot retry comes back failed, with its reason', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'api-3', failures: 1 })
  await waitForFailed(app, worker, 1)
  const sent = await app.inject(post({ service: 'billing', nodeId: 'api-3', type: 'RETRY_JOB', queue: worker.name, jobId: 'job-that-never-was' }))
  const final = await waitForFinal(app, sent.json().id)
  t.equal(final.status, 'failed')
  t.match(final.reason, /job-that-never-was/)
})

t.test('a type outside the allowlist is refused with 400 before anything is sent', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'api-4', failures: 1 })
  await waitForFailed(app, worker, 1)
  for (const type of ['FLUSH_QUEUE', 'retry_job', '', 42]) {
    const answer = await app.inject(post({ service: 'billing', nodeId: 'api-4', type, queue: worker.name, jobId: '1' }))
    t.equal(answer.statusCode, 400, `type ${JSON.stringify(type)}`)
    t.match(answer.json().message, /type must be one of RETRY_JOB, DELETE_JOB/)
  }
  for (const body of [
    {},
    { service: 'billing', nodeId: 'api-4', type: 'RETRY_JOB', queue: worker.name },
    { service: 'bad name', nodeId: 'api-4', type: 'RETRY_JOB', queue: worker.name, jobId: '1' },
    { service: 'billing', nodeId: 'api-4', type: 'RETRY_JOB', queue: worker.name, jobId: '1', extra: 1 },
  ]) {
    t.equal((await app.inject(post(body))).statusCode, 400, JSON.stringify(body))
  }
  t.equal((await app.inject({ ...post({}), payload: 'not json' })).statusCode, 400)
  t.equal(await redis.exists(keys.commandStream('billing', 'api-4')), 0, 'nothing reached the stream')
  t.equal(await redis.hlen(app.keys.auditPending()), 0, 'nothing recorded as sent')
})

t.test('unknown targets answer 404, read-only queues 409', async (t) => {
  // the wait below posts until the queue is known: more than the default 60 commands a minute
  const app = await startConsole(t, { redisUrl: redisServer.url, commandRateLimit: 10_000 })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'api-5', failures: 1 })
  await waitForFailed(app, worker, 1)
  const base = { service: 'billing', nodeId: 'api-5', type: 'RETRY_JOB', queue: worker.name, jobId: '1' }
  t.equal((await app.inject(post({ ...base, nodeId: 'ghost' }))).statusCode, 404)
  t.equal((await app.inject(post({ ...base, service: 'nowhere' }))).statusCode, 404)
  t.equal((await app.inject(post({ ...base, queue: 'not-a-queue' }))).statusCode, 404)

  // a BullMQ queue found in Redis without any agent: shown, read-only
  await redis.hset('bull:orphans:meta', 'opts.maxLenEvents', '10000')
  await redis.set(keys.node('bull', 'box-1'), JSON.stringify(sampleHeartbeat({ timestamp: Date.now(), id: 'box-1', service: 'bull' })), 'EX', 60)
  await eventually(async () => {
    await app.collector.refresh()
    return (await app.inject(post({ ...base, service: 'bull', nodeId: 'box-1', queue: 'orphans' }))).statusCode !== 404
  }, 'the discovered queue is known')
  const readOnly = await app.inject(post({ ...base, service: 'bull', nodeId: 'box-1', queue: 'orphans' }))
  t.equal(readOnly.statusCode, 409)
  t.match(readOnly.json().message, /read-only/)
  t.equal(await redis.exists(keys.commandStream('bull', 'box-1')), 0)
})

t.test('a viewer cannot send commands; an operator and the API token can, and are named as sender', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true, apiToken: 'api-token-0123456789' })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'api-6', failures: 2 })
  await waitForFailed(app, worker, 2)
  const body = { service: 'billing', nodeId: 'api-6', type: 'RETRY_JOB', queue: worker.name, jobId: worker.queue.failedIds[0]! }

  const viewer = await loginAs(app, 'victor')
  const refused = await app.inject(post(body, { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf }))
  t.equal(refused.statusCode, 403)
  t.equal((await app.inject(post({ service: 'bad name' }, { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf }))).statusCode, 403, 'a bad body too: the role is checked before the fields')
  t.equal(await redis.exists(keys.commandStream('billing', 'api-6')), 0, 'nothing sent for the viewer')
  t.equal((await app.inject(post(body))).statusCode, 401, 'nobody at all')

  const operator = await loginAs(app, 'olivia')
  const asOperator = await app.inject(post(body, { cookie: operator.cookie, 'x-csrf-token': operator.csrf }))
  t.equal(asOperator.statusCode, 202)
  t.match(await waitForFinal(app, asOperator.json().id, { cookie: operator.cookie }), { status: 'ok', sentBy: 'olivia' })

  const asToken = await app.inject(post({ ...body, jobId: worker.queue.failedIds[1]! }, { authorization: 'Bearer api-token-0123456789' }))
  t.equal(asToken.statusCode, 202)
  t.match(await waitForFinal(app, asToken.json().id, { authorization: 'Bearer api-token-0123456789' }), { status: 'ok', sentBy: 'api-token' })
  // the viewer may still read a command's status
  t.equal((await app.inject({ url: `/api/pulse/command/${asToken.json().id}`, headers: { cookie: viewer.cookie } })).statusCode, 200)
})

t.test('without QUASAR_TOKEN commands are off: 503 with the reason, nothing sent', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, quasarToken: undefined })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'api-7', failures: 1 })
  await waitForFailed(app, worker, 1)
  const answer = await app.inject(post({ service: 'billing', nodeId: 'api-7', type: 'RETRY_JOB', queue: worker.name, jobId: '1' }))
  t.equal(answer.statusCode, 503)
  t.match(answer.json().message, /QUASAR_TOKEN/)
  t.equal(await redis.exists(keys.commandStream('billing', 'api-7')), 0)
})

t.test('unknown and malformed command ids', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  t.equal((await app.inject('/api/pulse/command/AAAAAAAAAAAAAAAAAAAAAA')).statusCode, 404)
  t.equal((await app.inject('/api/pulse/command/no*such')).statusCode, 400)
})

t.test('a command nobody answers is marked expired once past its expiry', async (t) => {
  // a Redis of its own: every tick of this test must succeed, whatever the other tests left behind
  const { server: ownServer, redis } = await useRedis(t)
  const clock = fakeClock(Date.now())
  const app = await startConsole(t, { redisUrl: ownServer.url, clock })
  // a node that reports a queue and then goes quiet: no agent reads its stream
  await redis.set(keys.node('billing', 'gone-1'), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'gone-1', service: 'billing' })), 'EX', 3600)
  await redis.set(
    keys.queues('billing'),
    JSON.stringify({ timestamp: clock(), service: 'billing', nodeId: 'gone-1', queues: [{ name: 'reports', driver: 'bullmq', metrics: { waiting: 0, failed: 1 }, failedJobs: [{ id: '7' }] }] }),
    'EX',
    3600,
  )
  await eventually(async () => {
    await app.collector.refresh()
    return (await app.inject(post({ service: 'billing', nodeId: 'gone-1', type: 'RETRY_JOB', queue: 'reports', jobId: '7' }))).statusCode === 202
  }, 'a command sent to the quiet node')
  const pendingIds = Object.keys(await redis.hgetall(app.keys.auditPending()))
  t.equal(pendingIds.length, 1)
  const id = pendingIds[0]!

  clock.advance(COMMAND_TTL_MS)
  t.equal((await app.collector.refresh()).redis.up, true)
  t.equal((await app.inject(`/api/pulse/command/${id}`)).json().status, 'pending', 'at its expiry it may still be answered')
  clock.advance(EXPIRY_GRACE_MS + 1)
  t.equal((await app.collector.refresh()).redis.up, true)
  const expired = (await app.inject(`/api/pulse/command/${id}`)).json()
  t.match(expired, { status: 'expired', reason: /no result/ })
  t.equal(await redis.hget(app.keys.auditPending(), id), null, 'no longer pending in Redis')
  const logged = await redis.xrange(app.keys.auditLog(), '-', '+')
  t.equal(logged.filter(([, fields]) => fields[1]!.includes(id)).length, 1, 'recorded once in the audit log')
})

t.test('a forged result for another target is ignored', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'api-8', failures: 1, token: 'a-different-token-for-this-agent' })
  await waitForFailed(app, worker, 1)
  const sent = await app.inject(post({ service: 'billing', nodeId: 'api-8', type: 'RETRY_JOB', queue: worker.name, jobId: worker.queue.failedIds[0]! }))
  const { id } = sent.json() as { id: string }
  // the agent's token differs from the console's: it rejects the signature
  t.match(await waitForFinal(app, id), { status: 'rejected', reason: /bad signature/ })
  t.equal(worker.queue.runs.get(worker.queue.failedIds[0]!), 1, 'never executed')

  // another service's agent writing a result for a pending command is not believed; the agent is
  // stopped first, or it could reject the command itself before the forged result is read
  await worker.agent.stop()
  const second = (await app.inject(post({ service: 'billing', nodeId: 'api-8', type: 'DELETE_JOB', queue: worker.name, jobId: worker.queue.failedIds[0]! }))).json().id as string
  const forged = JSON.stringify({ id: second, status: 'ok', service: 'payments', nodeId: 'p-1', finishedAt: Date.now() })
  // at its own service's key (never read for a billing command) and at the legacy shared one
  await redis.set(keys.commandResult('payments', second), forged)
  await redis.set(keys.legacyCommandResult(second), forged)
  await app.collector.refresh()
  t.equal((await app.inject(`/api/pulse/command/${second}`)).json().status, 'pending')
})
