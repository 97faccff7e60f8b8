/**
 * Queue-wide commands through the console's forms, against a real agent and a real BullMQ queue
 * with 150 failed jobs of which the agent lists 20: the confirmation states the queue's whole
 * failed count and lives outside the polled region; the POST carries what was confirmed and a key,
 * so the same confirmation posted twice sends one command; the agent retries or deletes all 150,
 * and the progress and result show on the command's status, the queue page and /audit.
 */
import t from 'tap'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { FORM } from '../auth/helpers.js'
import { loginAs, sentActions, startConsole, startWorker, waitForFailed, waitForFinal } from './fixture.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const hiddenValue = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]

t.test('Retry all failed: the exact count, one command per confirmation, all 150 retried, progress and result shown', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'wide-1', failures: 150 })
  await worker.queue.startWorker()
  await waitForFailed(app, worker, 20)
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const target = { service: 'billing', nodeId: 'wide-1', queue: worker.name }

  const page = (await app.inject({ url: `/queues/billing/${worker.name}`, headers: { cookie } })).body
  const panelAt = page.indexOf('id="queue-action-panel"')
  const pollAt = page.indexOf('id="failed-jobs"')
  t.ok(panelAt > 0 && pollAt > panelAt, 'the action panel is on the page, before and outside the polled failed-jobs region')
  t.notMatch(page.slice(panelAt, pollAt), /hx-trigger/, 'the panel itself does not poll')
  t.match(page, /hx-get="\/commands\/queue-action" hx-target="#queue-action-panel"/, 'the buttons put their confirmation into the panel')
  t.match(page, /Delete all failed…/)

  const confirm = await app.inject({ url: `/commands/queue-action?${form({ ...target, type: 'RETRY_ALL_FAILED' })}`, headers: { cookie, 'hx-request': 'true' } })
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, /Retry all <strong class="confirm-count">150<\/strong> failed jobs/, "the queue's failed count, not the 20 listed")
  t.equal(hiddenValue(confirm.body, 'countSeen'), '150')
  const key = hiddenValue(confirm.body, 'confirmation')!
  t.match(key, /^[A-Za-z0-9_-]{8,64}$/, 'a confirmation key made when it rendered')
  const again = await app.inject({ url: `/commands/queue-action?${form({ ...target, type: 'RETRY_ALL_FAILED' })}`, headers: { cookie, 'hx-request': 'true' } })
  t.not(hiddenValue(again.body, 'confirmation'), key, 'each confirmation has its own key')

  const post = () =>
    app.inject({
      method: 'POST',
      url: '/commands/queue-action',
      headers: { cookie, 'content-type': FORM, 'hx-request': 'true' },
      payload: form({ ...target, type: 'RETRY_ALL_FAILED', countSeen: '150', confirmation: key, confirmed: 'yes', _csrf: csrf }),
    })
  const first = await post()
  const second = await post()
  t.equal(first.statusCode, 200)
  t.equal(second.statusCode, 200)
  const idOf = (html: string) => /id="command-([A-Za-z0-9_-]+)"/.exec(html)?.[1]
  t.ok(idOf(first.body))
  t.equal(idOf(second.body), idOf(first.body), 'the second POST shows the same command')
  t.equal((await sentActions(redis, keys.commandStream('billing', 'wide-1'))).length, 1, 'one command sent for two POSTs')
  const id = idOf(first.body)!
  const [sent] = await sentActions(redis, keys.commandStream('billing', 'wide-1'))
  t.match(sent, { type: 'RETRY_ALL_FAILED', jobId: '*', queue: worker.name }, 'one signed queue-wide command')

  const reused = await app.inject({
    method: 'POST',
    url: '/commands/queue-action',
    headers: { cookie, 'content-type': FORM },
    payload: form({ ...target, type: 'DELETE_ALL_FAILED', confirmation: key, confirmed: 'yes', _csrf: csrf }),
  })
  t.equal(reused.statusCode, 409, 'a confirmation cannot be reused for another type')
  t.equal((await sentActions(redis, keys.commandStream('billing', 'wide-1'))).length, 1, 'and nothing more was sent')

  const final = await waitForFinal(app, id, { cookie })
  t.match(final, { status: 'ok', type: 'RETRY_ALL_FAILED', countSeen: 150, progress: { done: 150, total: 150, errors: 0 } })
  await eventually(() => [...worker.queue.runs.values()].filter((n) => n === 2).length === 150, 'all 150 jobs ran again')

  const status = (await app.inject({ url: `/commands/${id}/status`, headers: { cookie } })).body
  t.match(status, /Retried all failed/)
  t.match(status, /150 of 150 done/)
  t.notMatch(status, /hx-trigger/, 'final: it stops polling')
  const queuePage = (await app.inject({ url: `/queues/billing/${worker.name}`, headers: { cookie } })).body
  t.match(queuePage.slice(queuePage.indexOf('id="queue-action-panel"'), queuePage.indexOf('id="failed-jobs"')), /150 of 150 done/, 'the queue page shows the result after a reload')
  const audit = (await app.inject({ url: '/audit/fragments/log', headers: { cookie } })).body
  t.match(
    audit,
    new RegExp(`id="audit-${id}"[\\s\\S]*?Retry all failed jobs <span class="muted">\\(150 confirmed\\)<\\/span>[\\s\\S]*?Retried all failed[\\s\\S]*?150 of 150 done`),
    '/audit shows what was confirmed and the result',
  )
})

t.test('progress while the agent pages through the queue shows on the status and in /audit', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'wide-2', failures: 3 })
  await waitForFailed(app, worker, 3)
  const { cookie, csrf } = await loginAs(app, 'olivia')
  const confirm = await app.inject({ url: `/commands/queue-action?${form({ service: 'billing', nodeId: 'wide-2', queue: worker.name, type: 'DELETE_ALL_FAILED' })}`, headers: { cookie } })
  t.match(confirm.body, /<html/, 'without htmx: a page of its own')
  t.match(confirm.body, /Delete all 3 failed jobs\?/)
  t.match(confirm.body, /This cannot be undone/)
  // the agent is stopped so the progress is the one written here, the way an agent mid-run writes it
  await worker.agent.stop()
  const sent = await app.inject({
    method: 'POST',
    url: '/commands/queue-action',
    headers: { cookie, 'content-type': FORM },
    payload: form({ service: 'billing', nodeId: 'wide-2', queue: worker.name, type: 'DELETE_ALL_FAILED', countSeen: '3', confirmation: hiddenValue(confirm.body, 'confirmation')!, confirmed: 'yes', _csrf: csrf }),
  })
  t.equal(sent.statusCode, 303)
  const id = /^\/commands\/([A-Za-z0-9_-]+)$/.exec(sent.headers.location as string)![1]!
  await redis.set(keys.commandResult('billing', id), JSON.stringify({ id, status: 'running', progress: { done: 2, total: 3, errors: 0 }, service: 'billing', nodeId: 'wide-2', finishedAt: Date.now() }))
  await app.collector.refresh()
  const status = (await app.inject({ url: `/commands/${id}/status`, headers: { cookie } })).body
  t.match(status, /data-status="pending"/, 'running is not final')
  t.match(status, /2 of 3 done/)
  t.match(status, /<progress class="command-progress" max="100" value="67">/)
  t.match(status, /hx-trigger="every 2s"/, 'and it keeps polling')
  t.match((await app.inject({ url: '/audit/fragments/log', headers: { cookie } })).body, /Delete all failed pending[\s\S]*?2 of 3 done/)
  t.match((await app.inject({ url: `/commands/${id}`, headers: { cookie } })).body, /Delete all failed jobs of [\s\S]*?Confirmed[\s\S]*?3 failed jobs at the time/)
})
