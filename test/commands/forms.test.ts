/**
 * The queue page's command forms, as a browser without JavaScript (303s, confirmation pages) and
 * as htmx (fragments in place), logged in from a users file: CSRF, roles, confirmation steps, the
 * retry-all cap, and the status fragment that stops polling once final.
 */
import t from 'tap'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { FORM } from '../auth/helpers.js'
import { RETRY_ALL_CAP } from '../../server/commands/service.js'
import { loginAs, sentActions, startConsole, startWorker, waitForFailed } from './fixture.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const idFrom = (location: string | undefined) => /^\/commands\/([A-Za-z0-9_-]+)$/.exec(location ?? '')?.[1]

t.test('Retry without JavaScript: 403 without the CSRF token, else 303 to the command, which ends ok', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'form-1', failures: 1 })
  await worker.queue.startWorker()
  await waitForFailed(app, worker, 1)
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const fields = { service: 'billing', nodeId: 'form-1', queue: worker.name, jobId: worker.queue.failedIds[0]! }

  const forged = await app.inject({ method: 'POST', url: '/commands/retry', headers: { cookie, 'content-type': FORM }, payload: form(fields) })
  t.equal(forged.statusCode, 403, 'no token')
  const wrong = await app.inject({ method: 'POST', url: '/commands/retry', headers: { cookie, 'content-type': FORM }, payload: form({ ...fields, _csrf: 'x'.repeat(43) }) })
  t.equal(wrong.statusCode, 403, 'a wrong token')
  t.same(await sentActions(redis, keys.commandStream('billing', 'form-1')), [], 'nothing sent')

  const sent = await app.inject({ method: 'POST', url: '/commands/retry', headers: { cookie, 'content-type': FORM }, payload: form({ ...fields, _csrf: csrf }) })
  t.equal(sent.statusCode, 303)
  const id = idFrom(sent.headers.location as string)
  t.ok(id, `redirected to the command's page (${String(sent.headers.location)})`)

  const page = await app.inject({ url: `/commands/${id}`, headers: { cookie } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /data-status="pending"/)
  t.match(page.body, /olivia/)
  await eventually(async () => {
    await app.collector.refresh()
    return /data-status="ok"/.test((await app.inject({ url: `/commands/${id}`, headers: { cookie } })).body)
  }, 'the page shows ok')
  await eventually(() => worker.queue.runs.get(fields.jobId) === 2, 'the job ran again')
})

t.test('Retry with htmx: the status fragment polls while pending, and stops once final', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'form-2', failures: 1 })
  await waitForFailed(app, worker, 1)
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const fields = { service: 'billing', nodeId: 'form-2', queue: worker.name, jobId: worker.queue.failedIds[0]! }
  const sent = await app.inject({ method: 'POST', url: '/commands/retry', headers: { cookie, 'content-type': FORM, 'hx-request': 'true', 'x-csrf-token': csrf }, payload: form(fields) })
  t.equal(sent.statusCode, 200)
  const id = /id="command-([A-Za-z0-9_-]+)"/.exec(sent.body)?.[1]
  t.ok(id)
  t.match(sent.body, /data-status="pending"/)
  t.match(sent.body, new RegExp(`hx-get="/commands/${id}/status" hx-trigger="every 2s" hx-swap="outerHTML"`))

  let final = ''
  await eventually(async () => {
    await app.collector.refresh()
    final = (await app.inject({ url: `/commands/${id}/status`, headers: { cookie, 'hx-request': 'true' } })).body
    return /data-status="ok"/.test(final)
  }, 'the fragment says ok')
  t.notMatch(final, /hx-trigger/, 'no more polling')
  t.match(final, /Retried/)
  const unknown = await app.inject({ url: '/commands/AAAAAAAAAAAAAAAAAAAAAA/status', headers: { cookie, 'hx-request': 'true' } })
  t.equal(unknown.statusCode, 404)
  t.notMatch(unknown.body, /hx-trigger/, 'an unknown command is not polled either')
})

t.test('Delete asks first: a confirmation page without JavaScript, hx-confirm with; unconfirmed is refused', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'form-3', failures: 1 })
  await waitForFailed(app, worker, 1)
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const fields = { service: 'billing', nodeId: 'form-3', queue: worker.name, jobId: worker.queue.failedIds[0]! }

  // the queue page's Delete: a GET form to the confirmation page, and hx-confirm for htmx
  const queuePage = await app.inject({ url: `/queues/billing/${worker.name}`, headers: { cookie } })
  t.match(queuePage.body, /<form class="job-action" method="get" action="\/commands\/delete" hx-post="\/commands\/delete"/)
  t.match(queuePage.body, new RegExp(`hx-confirm="Delete job ${fields.jobId} from ${worker.name}\\? This cannot be undone\\."`))

  const confirm = await app.inject({ url: `/commands/delete?${form(fields)}`, headers: { cookie } })
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, /name="confirmed" value="yes"/)
  t.match(confirm.body, /cannot be undone/)

  const unconfirmed = await app.inject({ method: 'POST', url: '/commands/delete', headers: { cookie, 'content-type': FORM }, payload: form({ ...fields, _csrf: csrf }) })
  t.equal(unconfirmed.statusCode, 400)
  t.same(await sentActions(redis, keys.commandStream('billing', 'form-3')), [], 'nothing sent')

  const sent = await app.inject({ method: 'POST', url: '/commands/delete', headers: { cookie, 'content-type': FORM }, payload: form({ ...fields, confirmed: 'yes', _csrf: csrf }) })
  t.equal(sent.statusCode, 303)
  const id = idFrom(sent.headers.location as string)!
  await eventually(async () => {
    await app.collector.refresh()
    return /data-status="ok"/.test((await app.inject({ url: `/commands/${id}/status`, headers: { cookie } })).body)
  }, 'deleted')
  t.equal(await worker.queue.queue.getJob(fields.jobId), undefined)
})

t.test('Retry all failed: the confirmation says how many, one click sends at most the cap', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'form-4', failures: 60, failedPageSize: 50 })
  await worker.queue.startWorker()
  await waitForFailed(app, worker, 50)
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const fields = { service: 'billing', nodeId: 'form-4', queue: worker.name }

  const queuePage = await app.inject({ url: `/queues/billing/${worker.name}`, headers: { cookie } })
  // an SDK agent declares RETRY_ALL_FAILED, so the page offers that; the per-job route still answers
  t.match(queuePage.body, /hx-get="\/commands\/queue-action"/, 'the queue page has the queue-wide button')

  // with htmx: the confirmation in place; without: a page; both from the snapshot
  const inPlace = await app.inject({ url: `/commands/retry-all?${form(fields)}`, headers: { cookie, 'hx-request': 'true' } })
  t.equal(inPlace.statusCode, 200)
  t.notMatch(inPlace.body, /<html/, 'a fragment')
  t.match(inPlace.body, new RegExp(`Retry <strong>${RETRY_ALL_CAP}</strong> failed jobs \\(the newest ${RETRY_ALL_CAP} of 60\\)`))
  const page = await app.inject({ url: `/commands/retry-all?${form(fields)}`, headers: { cookie } })
  t.match(page.body, /<html/)
  t.match(page.body, new RegExp(`retries <strong>${RETRY_ALL_CAP}</strong> jobs`))
  t.match(page.body, /the newest 50 of 60 failed/)
  t.match(page.body, /at most 50 jobs, and the agent runs at most 10 per second/)

  // what the confirmation carries: its key and the jobs it listed
  const confirmation = /name="confirmation" value="([^"]+)"/.exec(page.body)![1]!
  const jobIds = [...page.body.matchAll(/name="jobId" value="([^"]+)"/g)].map((m) => m[1]!)
  t.equal(jobIds.length, RETRY_ALL_CAP)
  const payload = (extra: Record<string, string>) => {
    const body = new URLSearchParams({ ...fields, confirmation, _csrf: csrf, ...extra })
    for (const id of jobIds) body.append('jobId', id)
    return body.toString()
  }
  const unconfirmed = await app.inject({ method: 'POST', url: '/commands/retry-all', headers: { cookie, 'content-type': FORM }, payload: payload({}) })
  t.equal(unconfirmed.statusCode, 400)

  const sent = await app.inject({ method: 'POST', url: '/commands/retry-all', headers: { cookie, 'content-type': FORM }, payload: payload({ confirmed: 'yes' }) })
  t.equal(sent.statusCode, 303)
  const batchUrl = sent.headers.location as string
  t.match(batchUrl, /^\/commands\/batches\/[A-Za-z0-9_-]+$/)
  t.equal((await sentActions(redis, keys.commandStream('billing', 'form-4'))).length, RETRY_ALL_CAP, `exactly ${RETRY_ALL_CAP} commands sent, not 60`)
  const again = await app.inject({ method: 'POST', url: '/commands/retry-all', headers: { cookie, 'content-type': FORM }, payload: payload({ confirmed: 'yes' }) })
  t.equal(again.headers.location, batchUrl, 'the same confirmation again: the same batch')
  t.equal((await sentActions(redis, keys.commandStream('billing', 'form-4'))).length, RETRY_ALL_CAP, 'and nothing more sent')

  await eventually(
    async () => {
      await app.collector.refresh()
      return new RegExp(`${RETRY_ALL_CAP} done`).test((await app.inject({ url: `${batchUrl}/status`, headers: { cookie } })).body)
    },
    'every command of the batch acknowledged',
    30_000,
  )
  const done = (await app.inject({ url: `${batchUrl}/status`, headers: { cookie } })).body
  t.notMatch(done, /hx-trigger/, 'the batch stops polling once nothing is pending')
  await eventually(() => [...worker.queue.runs.values()].filter((n) => n === 2).length === RETRY_ALL_CAP, `${RETRY_ALL_CAP} jobs ran again`)
  t.equal([...worker.queue.runs.values()].filter((n) => n === 1).length, 10, 'the 10 oldest were not touched')
})

t.test('a viewer sees no buttons and is refused every command form', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'form-5', failures: 1 })
  await waitForFailed(app, worker, 1)
  const viewer = await loginAs(app, 'victor')
  const fields = { service: 'billing', nodeId: 'form-5', queue: worker.name, jobId: worker.queue.failedIds[0]! }

  const page = await app.inject({ url: `/queues/billing/${worker.name}`, headers: { cookie: viewer.cookie } })
  t.equal(page.statusCode, 200)
  t.match(page.body, worker.queue.failedIds[0]!, 'the failed job is listed')
  t.notMatch(page.body, /job-actions|queue-actions|"\/commands\//, 'but without any command button')

  const headers = { cookie: viewer.cookie, 'content-type': FORM }
  t.equal((await app.inject({ method: 'POST', url: '/commands/retry', headers, payload: form({ ...fields, _csrf: viewer.csrf }) })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/commands/delete', headers, payload: form({ ...fields, confirmed: 'yes', _csrf: viewer.csrf }) })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/commands/retry-all', headers, payload: form({ service: 'billing', nodeId: 'form-5', queue: worker.name, confirmed: 'yes', _csrf: viewer.csrf }) })).statusCode, 403)
  t.equal((await app.inject({ url: `/commands/delete?${form(fields)}`, headers: { cookie: viewer.cookie } })).statusCode, 403)
  t.equal((await app.inject({ url: `/commands/retry-all?service=billing&nodeId=form-5&queue=${worker.name}`, headers: { cookie: viewer.cookie } })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/commands/retry', headers, payload: form({ service: 'a:b', _csrf: viewer.csrf }) })).statusCode, 403, 'a bad form too: the role is checked before the fields')
  t.same(await sentActions(redis, keys.commandStream('billing', 'form-5')), [], 'nothing sent')

  const operator = await loginAs(app, 'olivia')
  const asOperator = await app.inject({ url: `/queues/billing/${worker.name}`, headers: { cookie: operator.cookie } })
  t.match(asOperator.body, /action="\/commands\/retry"/, 'an operator sees Retry')
})

t.test('a console without QUASAR_TOKEN shows no buttons and refuses the forms with the reason', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true, quasarToken: undefined })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'form-6', failures: 1 })
  await waitForFailed(app, worker, 1)
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const page = await app.inject({ url: `/queues/billing/${worker.name}`, headers: { cookie } })
  t.notMatch(page.body, /job-actions|queue-actions|"\/commands\//)
  t.match(page.body, /class="job-id"/, 'the failed jobs are still listed')
  const refused = await app.inject({
    method: 'POST',
    url: '/commands/retry',
    headers: { cookie, 'content-type': FORM },
    payload: form({ service: 'billing', nodeId: 'form-6', queue: worker.name, jobId: '1', _csrf: csrf }),
  })
  t.equal(refused.statusCode, 503)
  t.match(refused.body, /QUASAR_TOKEN/)
})

t.test('refusals land where the person is: in place with htmx, as a page without', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const fields = { service: 'billing', nodeId: 'nobody', queue: 'nothing', jobId: '1', _csrf: csrf }
  const htmx = await app.inject({ method: 'POST', url: '/commands/retry', headers: { cookie, 'content-type': FORM, 'hx-request': 'true' }, payload: form(fields) })
  t.equal(htmx.statusCode, 404)
  t.match(htmx.body, /^<span class="command-status command-refused" role="alert">no node nobody in service billing<\/span>/)
  const plain = await app.inject({ method: 'POST', url: '/commands/retry', headers: { cookie, 'content-type': FORM }, payload: form(fields) })
  t.equal(plain.statusCode, 404)
  t.match(plain.body, /<html/)
  t.match(plain.body, /no node nobody in service billing/)
  const bad = await app.inject({ method: 'POST', url: '/commands/retry', headers: { cookie, 'content-type': FORM }, payload: form({ ...fields, service: 'a:b' }) })
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /invalid service/)
})
