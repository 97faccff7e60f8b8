/**
 * Declared command capability end to end: the console offers and accepts exactly the commands a
 * queue's node declares, for any driver. A bare-ioredis agent of an `other` queue that declares
 * RETRY_JOB gets a retry executed (signed, woken by the JSON wake-up, result shown) and its Delete
 * refused; a `redis-list` agent that declares nothing gets no buttons, a 409 with the reason, and
 * nothing in its stream.
 */
import t from 'tap'
import { createKeys, WAKE_UP_MESSAGE } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { findQueue } from '../../server/queues/service.js'
import { JSON_HEADERS, startConsole, waitForFinal } from './fixture.js'
import { startDeclaredAgent } from './declared-agent.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

t.beforeEach(async () => {
  await redis.flushall()
})

const post = (body: unknown) => ({ method: 'POST' as const, url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify(body) })
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
/** the open console's CSRF token (its anonymous user is an operator) */
const csrfOf = async (app: { inject: (url: string) => Promise<{ json(): unknown }> }) => ((await app.inject('/test/locals')).json() as { auth: { csrfToken: string } }).auth.csrfToken

t.test('an `other` queue declaring RETRY_JOB: Retry only, a retry runs end to end, Delete is refused', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const agent = startDeclaredAgent(t, { url: redisServer.url, service: 'py-app', nodeId: 'rq-1', queue: 'reports', driver: 'other', declared: ['RETRY_JOB'], failed: ['job-1', 'job-2', 'job-3'] })
  await agent.listening
  await agent.report()
  await app.collector.refresh()
  await app.collector.refresh()

  const listed = (await app.inject('/api/pulse/queues?service=py-app')).json().queues
  t.match(listed, [{ name: 'reports', driver: 'other', commands: ['RETRY_JOB'], readOnly: false, nodeId: 'rq-1' }])
  t.notOk('readOnlyReason' in listed[0])

  const failedList = (await app.inject('/queues/py-app/reports/fragments/failed')).body
  for (const id of ['job-1', 'job-2', 'job-3']) t.match(failedList, `aria-label="Retry job ${id}"`)
  t.notMatch(failedList, /Delete job/, 'no Delete where only Retry is declared')
  t.match(failedList, /Retry all failed/)
  t.notMatch(failedList, /Read-only/)

  const sent = await app.inject(post({ service: 'py-app', nodeId: 'rq-1', queue: 'reports', type: 'RETRY_JOB', jobId: 'job-2' }))
  t.equal(sent.statusCode, 202)
  const { id } = sent.json() as { id: string }
  await eventually(() => agent.handled.includes(id), 'the agent handled it, woken by the wake-up alone')
  t.same(agent.wakes, [WAKE_UP_MESSAGE])
  t.same(JSON.parse(agent.wakes[0]!), { type: 'wake' }, 'the wake-up is a JSON object')
  t.same(agent.waiting, ['job-2'], "the job was retried in the agent's own store")
  t.match(await waitForFinal(app, id), { status: 'ok', type: 'RETRY_JOB', queue: 'reports', jobId: 'job-2' })
  t.match((await app.inject(`/commands/${id}/status`)).body, /Retried/, 'the result is shown')
  t.match((await app.inject('/queues/py-app/reports/fragments/failed')).body, /data-status="ok"[\s\S]*Retried/, "on the job's row too")

  await agent.report()
  await app.collector.refresh()
  t.same(
    findQueue(app.collector.snapshot, 'py-app', 'reports')?.failedJobs?.map((job) => job.id),
    ['job-1', 'job-3'],
    'the agent reports the job gone',
  )

  const stream = keys.commandStream('py-app', 'rq-1')
  const deleteApi = await app.inject(post({ service: 'py-app', nodeId: 'rq-1', queue: 'reports', type: 'DELETE_JOB', jobId: 'job-1' }))
  t.equal(deleteApi.statusCode, 409)
  t.match(deleteApi.json(), { error: 'Conflict', message: 'queue reports does not accept DELETE_JOB: its agent declares only RETRY_JOB' })
  const fields = { service: 'py-app', nodeId: 'rq-1', queue: 'reports', jobId: 'job-1' }
  const confirm = await app.inject({ url: `/commands/delete?${form(fields)}` })
  t.equal(confirm.statusCode, 409, 'no confirmation page for an undeclared delete')
  t.match(confirm.body, /does not accept DELETE_JOB/)
  const deleteForm = await app.inject({ method: 'POST', url: '/commands/delete', headers: FORM, payload: form({ ...fields, confirmed: 'yes', _csrf: await csrfOf(app) }) })
  t.equal(deleteForm.statusCode, 409)
  t.equal(await redis.xlen(stream), 1, 'no refused command reached the stream')
  t.same(agent.failed, ['job-1', 'job-3'])

  // retry all goes through too: RETRY_JOB is declared
  const confirmPage = (await app.inject({ url: `/commands/retry-all?${form({ service: 'py-app', nodeId: 'rq-1', queue: 'reports' })}` })).body
  const confirmed = new URLSearchParams({ service: 'py-app', nodeId: 'rq-1', queue: 'reports', confirmed: 'yes', _csrf: await csrfOf(app), confirmation: /name="confirmation" value="([^"]+)"/.exec(confirmPage)![1]! })
  for (const [, id] of confirmPage.matchAll(/name="jobId" value="([^"]+)"/g)) confirmed.append('jobId', id!)
  const all = await app.inject({ method: 'POST', url: '/commands/retry-all', headers: FORM, payload: confirmed.toString() })
  t.equal(all.statusCode, 303)
  await eventually(() => agent.waiting.length === 3, 'both remaining jobs retried')
  t.same(agent.waiting, ['job-2', 'job-1', 'job-3'])
})

t.test('a `redis-list` queue declaring nothing: read-only with the reason, no buttons, 409, nothing sent', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const agent = startDeclaredAgent(t, { url: redisServer.url, service: 'php-app', nodeId: 'fpm-1', queue: 'mails', driver: 'redis-list', failed: ['7', '8'] })
  await agent.listening
  await agent.report()
  await app.collector.refresh()
  await app.collector.refresh()

  t.match((await app.inject('/api/pulse/queues?service=php-app')).json().queues, [{ name: 'mails', commands: [], readOnly: true, readOnlyReason: 'its agent does not declare commands', nodeId: 'fpm-1' }])
  const page = (await app.inject('/queues/php-app/mails')).body
  t.match(page, /Read-only: its agent does not declare commands\./, 'the page says why in plain words')
  t.notMatch(page, /Retry job|Delete job|Retry all failed/)

  for (const type of ['RETRY_JOB', 'DELETE_JOB']) {
    const refused = await app.inject(post({ service: 'php-app', nodeId: 'fpm-1', queue: 'mails', type, jobId: '7' }))
    t.equal(refused.statusCode, 409, type)
    t.equal(refused.json().message, 'queue mails is read-only: its agent does not declare commands')
  }
  const retryForm = await app.inject({ method: 'POST', url: '/commands/retry', headers: FORM, payload: form({ service: 'php-app', nodeId: 'fpm-1', queue: 'mails', jobId: '7', _csrf: await csrfOf(app) }) })
  t.equal(retryForm.statusCode, 409)
  t.match(retryForm.body, /its agent does not declare commands/)
  const retryAll = await app.inject({ url: `/commands/retry-all?${form({ service: 'php-app', nodeId: 'fpm-1', queue: 'mails' })}` })
  t.equal(retryAll.statusCode, 409)
  t.equal(await redis.exists(keys.commandStream('php-app', 'fpm-1')), 0, 'nothing sent')
  t.same(agent.wakes, [], 'never woken')
})

t.test('a node that declares DELETE_JOB only gets Delete, and its Retry is refused', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const agent = startDeclaredAgent(t, { url: redisServer.url, service: 'go-app', nodeId: 'go-1', queue: 'jobs', driver: 'other', declared: ['DELETE_JOB'], failed: ['a'] })
  await agent.report()
  await app.collector.refresh()
  await app.collector.refresh()
  const failedList = (await app.inject('/queues/go-app/jobs/fragments/failed')).body
  t.match(failedList, /Delete job a/)
  t.notMatch(failedList, /Retry/, 'neither Retry nor Retry all')
  const refused = await app.inject(post({ service: 'go-app', nodeId: 'go-1', queue: 'jobs', type: 'RETRY_JOB', jobId: 'a' }))
  t.equal(refused.statusCode, 409)
  t.equal(refused.json().message, 'queue jobs does not accept RETRY_JOB: its agent declares only DELETE_JOB')
})
