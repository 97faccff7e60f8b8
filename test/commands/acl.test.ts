/**
 * Commands under the Redis ACL users of docs/security.md (the lines are read from the document):
 * the console, as the console user, signs, sends and audits; the agent, as its service's agent
 * user, reads its stream, claims, executes and acknowledges; neither hits a permission error, and
 * the agent can neither read another service's commands nor write another service's results.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { createKeys } from '@gravito/quasar/protocol'
import { startPulse } from '@gravito/quasar'
import { useRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { documentedAclLines, documentedUserUrl, setUserArgs } from '../helpers/documented-acl.js'
import { failingQueue } from './bullmq.js'
import { JSON_HEADERS, loginAs, startConsole, waitForFailed, waitForFinal } from './fixture.js'
import { FORM } from '../auth/helpers.js'
import { TOKEN } from './signed.js'

const keys = createKeys()

const { server: redisServer, redis: admin } = await useRedis(t)
for (const line of documentedAclLines) await admin.call('ACL', 'SETUSER', ...setUserArgs(line))
const userUrl = (user: string) => documentedUserUrl(redisServer.url, user)

t.test('a retry goes round trip with the documented ACL users', async (t) => {
  const logLines: string[] = []
  const app = await startConsole(t, { redisUrl: userUrl('zenith-console'), logLines })
  // the app's queues live in its own Redis (here the same server, as its default user)
  const queue = await failingQueue(redisServer.url, 'acl-emails', 1)
  t.teardown(() => queue.close())
  const errors: unknown[] = []
  const agent = startPulse({ service: 'billing', nodeId: 'web-1', url: userUrl('agent-billing'), app: redisServer.url, token: TOKEN, intervalMs: 300, onError: (error) => void errors.push(error) })
  agent.monitorQueue('acl-emails', 'bullmq')
  t.teardown(() => agent.stop())
  await waitForFailed(app, { service: 'billing', name: 'acl-emails' }, 1)

  const sent = await app.inject({
    method: 'POST',
    url: '/api/pulse/command',
    headers: JSON_HEADERS,
    payload: JSON.stringify({ service: 'billing', nodeId: 'web-1', type: 'RETRY_JOB', queue: 'acl-emails', jobId: queue.failedIds[0]! }),
  })
  t.equal(sent.statusCode, 202)
  const { id } = sent.json() as { id: string }
  t.match(await waitForFinal(app, id), { status: 'ok' })
  t.equal(await admin.exists(keys.commandResult('billing', id)), 1, "the result is under the agent's own service")
  await eventually(async () => (await queue.queue.getJob(queue.failedIds[0]!).then((job) => job?.getState())) === 'waiting', 'the job is waiting again')
  t.equal((await app.inject('/api/pulse/audit')).json().commands.length, 1, 'audited')

  const message = (error: unknown) => (error instanceof Error ? error.message : String(error))
  t.same(
    errors.map(message).filter((text) => /NOPERM/.test(text)),
    [],
    'the agent hit no permission error',
  )
  t.same(
    logLines.filter((line) => /NOPERM/.test(line)),
    [],
    'nor did the console',
  )

  const asAgent = new Redis(userUrl('agent-billing'))
  t.teardown(() => asAgent.quit())
  await t.rejects(asAgent.xrange(keys.commandStream('payments', 'web-1'), '-', '+'), /NOPERM/, "another service's commands")
  await t.rejects(asAgent.set(keys.commandSeen('payments', 'web-1', 'AAAAAAAAAAAAAAAA'), '1'), /NOPERM/, "another service's replay marks")
  await t.rejects(asAgent.xadd(keys.commandStream('billing', 'web-1'), '*', 'command', '{}'), /NOPERM/, 'adding commands, even to its own stream')
  const someId = 'AAAAAAAAAAAAAAAA'
  const forged = JSON.stringify({ id: someId, status: 'ok', service: 'payments', nodeId: 'web-1', finishedAt: Date.now() })
  await t.rejects(asAgent.set(keys.commandResult('payments', someId), forged), /NOPERM/, "writing another service's results")
  await t.rejects(asAgent.xadd(keys.commandResult('payments', someId), '*', 'status', 'ok'), /NOPERM/, "a stream where another service's result goes")
  await t.rejects(asAgent.set(keys.legacyCommandResult(someId), forged), /NOPERM/, 'the legacy result key shared by all services')
  await t.rejects(asAgent.get(keys.commandResult('payments', someId)), /NOPERM/, "reading another service's results")
  t.equal(await asAgent.set(keys.commandResult('billing', someId), '{}'), 'OK', "its own service's result keys are its own")
})

t.test('a queue-wide retry goes round trip with the documented ACL users; an agent can neither forge one nor spend a confirmation', async (t) => {
  const logLines: string[] = []
  const app = await startConsole(t, { redisUrl: userUrl('zenith-console'), logLines, users: true })
  const queue = await failingQueue(redisServer.url, 'acl-reports', 120)
  t.teardown(() => queue.close())
  const errors: unknown[] = []
  const agent = startPulse({ service: 'billing', nodeId: 'web-2', url: userUrl('agent-billing'), app: redisServer.url, token: TOKEN, intervalMs: 300, onError: (error) => void errors.push(error) })
  agent.monitorQueue('acl-reports', 'bullmq')
  t.teardown(() => agent.stop())
  await waitForFailed(app, { service: 'billing', name: 'acl-reports' }, 20)
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const target = { service: 'billing', nodeId: 'web-2', queue: 'acl-reports', type: 'RETRY_ALL_FAILED' }

  const confirm = await app.inject({ url: `/commands/queue-action?${new URLSearchParams(target).toString()}`, headers: { cookie, 'hx-request': 'true' } })
  const confirmation = /name="confirmation" value="([^"]+)"/.exec(confirm.body)![1]!
  const post = () =>
    app.inject({
      method: 'POST',
      url: '/commands/queue-action',
      headers: { cookie, 'content-type': FORM },
      payload: new URLSearchParams({ ...target, countSeen: '120', confirmation, confirmed: 'yes', _csrf: csrf }).toString(),
    })
  const first = await post()
  const second = await post()
  t.equal(second.headers.location, first.headers.location, 'the same confirmation twice: the same command')
  const id = /^\/commands\/(.+)$/.exec(first.headers.location as string)![1]!
  t.match(await waitForFinal(app, id, { cookie }), { status: 'ok', progress: { done: 120, total: 120, errors: 0 } })
  t.equal(await queue.queue.getFailedCount(), 0, 'all 120 left the failed set')
  t.same(
    errors.map(String).filter((text) => /NOPERM/.test(text)),
    [],
    'the agent hit no permission error',
  )
  t.same(
    logLines.filter((line) => /NOPERM/.test(line)),
    [],
    'nor did the console',
  )

  const asAgent = new Redis(userUrl('agent-billing'))
  t.teardown(() => asAgent.quit())
  const forged = JSON.stringify({
    v: 1,
    id: 'BBBBBBBBBBBBBBBB',
    type: 'DELETE_ALL_FAILED',
    service: 'billing',
    nodeId: 'web-2',
    queue: 'acl-reports',
    jobId: '*',
    issuedAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    signature: '0'.repeat(64),
  })
  await t.rejects(asAgent.xadd(keys.commandStream('billing', 'web-2'), '*', 'command', forged), /NOPERM/, 'a queue-wide command, even for its own node')
  await t.rejects(asAgent.set(app.keys.auditConfirmation('a-confirmation-key'), '{}'), /NOPERM/, "the console's confirmation keys")
})

t.test("the documented user for the application's Redis counts, retries and deletes its queue, and nothing else", async (t) => {
  const logLines: string[] = []
  const app = await startConsole(t, { redisUrl: userUrl('zenith-console'), logLines })
  const queue = await failingQueue(redisServer.url, 'emails', 2)
  t.teardown(() => queue.close())
  const errors: unknown[] = []
  const agent = startPulse({ service: 'billing', nodeId: 'web-2', url: userUrl('agent-billing'), app: userUrl('billing-queues'), token: TOKEN, intervalMs: 300, onError: (error) => void errors.push(error) })
  agent.monitorQueue('emails', 'bullmq')
  t.teardown(() => agent.stop())
  await waitForFailed(app, { service: 'billing', name: 'emails' }, 2)

  const [retried, deleted] = queue.failedIds as [string, string]
  for (const [type, jobId] of [
    ['RETRY_JOB', retried],
    ['DELETE_JOB', deleted],
  ] as const) {
    const sent = await app.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service: 'billing', nodeId: 'web-2', type, queue: 'emails', jobId }) })
    t.equal(sent.statusCode, 202)
    t.match(await waitForFinal(app, (sent.json() as { id: string }).id), { status: 'ok' }, type)
  }
  t.equal(await queue.queue.getJob(retried).then((job) => job?.getState()), 'waiting', 'the retried job waits again')
  t.equal(await queue.queue.getJob(deleted), undefined, 'the deleted job is gone')

  const message = (error: unknown) => (error instanceof Error ? error.message : String(error))
  t.same(
    errors.map(message).filter((text) => /NOPERM/.test(text)),
    [],
    'the probes hit no permission error',
  )

  const asProbe = new Redis(userUrl('billing-queues'))
  t.teardown(() => asProbe.quit())
  await t.rejects(asProbe.llen('bull:acl-emails:wait'), /NOPERM/, "another queue's keys")
  await t.rejects(asProbe.eval("return redis.call('DEL', KEYS[1])", 1, 'bull:acl-emails:meta'), /NOPERM/, "a script on another queue's keys")
  await t.rejects(asProbe.get(keys.node('billing', 'web-2')), /NOPERM/, "the monitor's keys")
  await t.rejects(asProbe.flushall(), /NOPERM/)
  await t.rejects(asProbe.keys('*'), /NOPERM/)
  await t.rejects(asProbe.call('CLIENT', 'KILL', 'TYPE', 'normal'), /NOPERM/)
})
