/**
 * The audit log: every command with who sent it, when, the target, the type and the result, newest
 * first, filterable by service; kept in Redis bounded by count and age; recorded once even with two
 * console replicas; still there after a console restart.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { AUDIT_MAX_AGE_MS, AUDIT_MAXLEN } from '../../server/commands/store.js'
import { startPulse } from '@gravito/quasar'
import { JSON_HEADERS, loginAs, startConsole, startWorker, waitForFailed, waitForFinal } from './fixture.js'
import { TOKEN } from './signed.js'

const { server: redisServer, redis } = await useRedis(t)

const API_TOKEN = 'audit-api-token-0123456789'

t.test('who sent what to whom, when, and how it ended; newest first, by service', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true, apiToken: API_TOKEN })
  const billing = await startWorker(t, { redisUrl: redisServer.url, service: 'billing', nodeId: 'audit-1', failures: 2 })
  const shipping = await startWorker(t, { redisUrl: redisServer.url, service: 'shipping', nodeId: 'audit-2', failures: 1 })
  await waitForFailed(app, billing, 2)
  await waitForFailed(app, shipping, 1)
  const operator = await loginAs(app, 'olivia')

  const send = async (body: Record<string, string>, headers: Record<string, string>) => {
    const answer = await app.inject({ method: 'POST', url: '/api/pulse/command', headers: { ...JSON_HEADERS, ...headers }, payload: JSON.stringify(body) })
    t.equal(answer.statusCode, 202)
    return (answer.json() as { id: string }).id
  }
  const asOlivia = { cookie: operator.cookie, 'x-csrf-token': operator.csrf }
  const asToken = { authorization: `Bearer ${API_TOKEN}` }
  const first = await send({ service: 'billing', nodeId: 'audit-1', type: 'RETRY_JOB', queue: billing.name, jobId: billing.queue.failedIds[0]! }, asOlivia)
  const second = await send({ service: 'shipping', nodeId: 'audit-2', type: 'DELETE_JOB', queue: shipping.name, jobId: shipping.queue.failedIds[0]! }, asToken)
  const third = await send({ service: 'billing', nodeId: 'audit-1', type: 'DELETE_JOB', queue: billing.name, jobId: 'no-such-job' }, asOlivia)

  // pending commands are listed at once, with who sent them
  const early = await app.inject({ url: '/audit', headers: { cookie: operator.cookie } })
  t.equal(early.statusCode, 200)
  for (const id of [first, second, third]) await waitForFinal(app, id, asToken)

  const page = await app.inject({ url: '/audit', headers: { cookie: operator.cookie } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /id="audit-log"[^>]*hx-get="\/audit\/fragments\/log" hx-trigger="every 3s"/, 'the log region polls its fragment')
  const rows = [...page.body.matchAll(/<tr id="audit-([A-Za-z0-9_-]+)" class="audit-(\w+)">([\s\S]*?)<\/tr>/g)].map(([, id, status, html]) => ({ id, status, html: html! }))
  t.same(
    rows.map((r) => r.id),
    [third, second, first],
    'newest first',
  )
  t.same(
    rows.map((r) => r.status),
    ['failed', 'ok', 'ok'],
  )
  t.match(rows[2]!.html, /olivia[\s\S]*Retry job <code>1<\/code>[\s\S]*on billing \/ audit-1[\s\S]*Retried/)
  t.match(rows[1]!.html, /api-token[\s\S]*Delete job[\s\S]*on shipping \/ audit-2[\s\S]*Deleted/)
  t.match(rows[0]!.html, /Delete failed[\s\S]*no-such-job/, 'the reason is shown')
  t.match(rows[0]!.html, /<time datetime="\d{4}-\d\d-\d\dT/, 'when')

  const filtered = await app.inject({ url: '/audit/fragments/log?service=shipping', headers: { cookie: operator.cookie } })
  t.equal(filtered.statusCode, 200)
  t.notMatch(filtered.body, /<html/, 'the fragment alone')
  t.match(filtered.body, second)
  t.notMatch(filtered.body, first)
  t.match((await app.inject({ url: '/audit?service=shipping', headers: { cookie: operator.cookie } })).body, /<option value="shipping" selected>/)

  const api = (await app.inject({ url: '/api/pulse/audit?service=billing', headers: asToken })).json() as { commands: { id: string; sentBy: string; status: string }[] }
  t.same(
    api.commands.map((c) => [c.id, c.sentBy, c.status]),
    [
      [third, 'olivia', 'failed'],
      [first, 'olivia', 'ok'],
    ],
  )
  t.equal((await app.inject({ url: '/audit?service=a:b', headers: { cookie: operator.cookie } })).statusCode, 400)

  // the log lives in Redis: a console started later shows the same
  const later = await startConsole(t, { redisUrl: redisServer.url, users: true, apiToken: API_TOKEN })
  await later.collector.refresh()
  const again = (await later.inject({ url: '/api/pulse/audit', headers: asToken })).json() as { commands: { id: string }[] }
  for (const id of [first, second, third])
    t.ok(
      again.commands.some((c) => c.id === id),
      `${id} is still audited`,
    )
})

t.test('two console replicas record each command once', async (t) => {
  const one = await startConsole(t, { redisUrl: redisServer.url })
  const two = await startConsole(t, { redisUrl: redisServer.url })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'audit-3', failures: 3 })
  await waitForFailed(one, worker, 3)
  await waitForFailed(two, worker, 3)
  const ids: string[] = []
  for (const jobId of worker.queue.failedIds) {
    const answer = await one.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service: 'billing', nodeId: 'audit-3', type: 'DELETE_JOB', queue: worker.name, jobId }) })
    ids.push((answer.json() as { id: string }).id)
  }
  // the replica that did not send them also answers their status, and both refresh concurrently
  for (const id of ids) t.equal((await two.inject(`/api/pulse/command/${id}`)).statusCode, 200, 'known to the other replica before its next tick')
  for (const id of ids) await Promise.all([waitForFinal(one, id), waitForFinal(two, id)])
  const log = await redis.xrange(one.keys.auditLog(), '-', '+')
  for (const id of ids) t.equal(log.filter(([, fields]) => fields[1]!.includes(`"id":"${id}"`)).length, 1, `${id} logged once`)
})

t.test('a replica that sent commands and stopped before their results: another records each once', async (t) => {
  const sender = await startConsole(t, { redisUrl: redisServer.url })
  const other = await startConsole(t, { redisUrl: redisServer.url })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'audit-4', failures: 3 })
  await waitForFailed(sender, worker, 3)
  // the agent is held back, so every command is still pending when the sender stops
  await worker.agent.stop()
  const ids: string[] = []
  for (const jobId of worker.queue.failedIds) {
    const answer = await sender.inject({
      method: 'POST',
      url: '/api/pulse/command',
      headers: JSON_HEADERS,
      payload: JSON.stringify({ service: 'billing', nodeId: 'audit-4', type: 'DELETE_JOB', queue: worker.name, jobId }),
    })
    ids.push((answer.json() as { id: string }).id)
  }
  await sender.close()
  for (const id of ids) t.equal(((await other.inject(`/api/pulse/command/${id}`)).json() as { status: string }).status, 'pending', `${id} pending on the replica left`)

  const again = startPulse({ service: 'billing', nodeId: 'audit-4', url: redisServer.url, token: TOKEN, intervalMs: 300 })
  again.monitorQueue(worker.name, 'bullmq')
  t.teardown(() => again.stop())
  for (const id of ids) t.equal((await waitForFinal(other, id)).status, 'ok', `${id} finished on the replica left`)
  const log = await redis.xrange(other.keys.auditLog(), '-', '+')
  for (const id of ids) t.equal(log.filter(([, fields]) => fields[1]!.includes(`"id":"${id}"`)).length, 1, `${id} logged once`)
  for (const jobId of worker.queue.failedIds) t.equal(await worker.queue.queue.getJob(jobId), undefined, `job ${jobId} deleted`)
})

t.test('the log is bounded by count and by age', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'audit-4', failures: 2 })
  await waitForFailed(app, worker, 2)
  const log = app.keys.auditLog()
  const retry = async (jobId: string) => {
    const answer = await app.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service: 'billing', nodeId: 'audit-4', type: 'RETRY_JOB', queue: worker.name, jobId }) })
    await waitForFinal(app, (answer.json() as { id: string }).id)
  }

  // entries just past the age bound and just within it
  await redis.del(log)
  const tooOld = Date.now() - AUDIT_MAX_AGE_MS - 60_000
  for (let i = 0; i < 3; i++) await redis.xadd(log, `${tooOld}-${i}`, 'command', '{}')
  const recent = await redis.xadd(log, `${Date.now() - AUDIT_MAX_AGE_MS + 3_600_000}-0`, 'command', '{}')
  await retry(worker.queue.failedIds[0]!)
  const ids = (await redis.xrange(log, '-', '+')).map(([id]) => id)
  t.equal(ids.length, 2, 'the entries past the age bound are gone')
  t.equal(ids[0], recent, 'the one within it is kept')

  // more entries than the count bound
  const filler = redis.pipeline()
  for (let i = 0; i < AUDIT_MAXLEN + 500; i++) filler.xadd(log, '*', 'command', '{}')
  await filler.exec()
  await retry(worker.queue.failedIds[1]!)
  const length = await redis.xlen(log)
  t.ok(length >= AUDIT_MAXLEN && length < AUDIT_MAXLEN + 200, `about ${AUDIT_MAXLEN} entries kept (${length})`)
})
