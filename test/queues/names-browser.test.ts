/**
 * A queue whose name breaks every URL and HTML rule, in a real browser (Debian's chromium): the
 * link in /queues leads to its own page, which names it exactly, loads its polled regions and
 * its history chart data, all under the console's strict CSP. Its history is written to a key of
 * its own in Redis, the name percent-encoded inside the hash tag.
 */
import t from 'tap'
import { Queue } from 'bullmq'
import { cspViolations, launchBrowser, listenLocally, openPage, recordCspViolations } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { queueKeyPart } from '../../server/redis/keys.js'

const NAME = 'envoi <b>#1</b> a/b?x=1&y=2 {high} %20 été 🚀'
const PREFIX = '{bull}'

const { server: redisServer, redis } = await useRedis(t)
const browser = await launchBrowser(t)

t.test('an odd name: linked, opened, named exactly, polled, and its history kept under its own key', async (t) => {
  await redis.flushall()
  const queue = new Queue(NAME, { connection: { url: redisServer.url }, prefix: PREFIX })
  t.teardown(() => queue.close())
  await queue.addBulk([
    { name: 'a', data: {} },
    { name: 'b', data: {} },
  ])
  await queue.pause()

  const app = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200 })
  t.teardown(() => app.close())
  const base = await listenLocally(app)
  await eventually(async () => (await app.inject('/api/pulse/queues')).json().queues.length === 1, 'queue discovered')
  const { service } = (await app.inject('/api/pulse/queues')).json().queues[0]

  const page = await openPage(t, browser)
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  const failed: string[] = []
  page.on('response', (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`)
  })
  await recordCspViolations(page)
  await page.goto(`${base}/queues`)
  const link = page.getByRole('link', { name: NAME, exact: true })
  t.equal(await link.count(), 1, 'the table links the queue under its exact name')
  await link.click()
  await page.waitForURL((url) => url.pathname.startsWith('/queues/'))
  t.equal(decodeURIComponent(new URL(page.url()).pathname), `/queues/${service}/${NAME}`, 'the link is the queue page, the name intact')
  t.equal(await page.locator('nav.crumbs [aria-current="page"]').textContent(), NAME, 'the page names it exactly, markup shown as text')
  t.equal(await page.locator('b').filter({ hasText: '#1' }).count(), 0, 'no markup from the name was rendered')
  await page.waitForFunction(() => 'htmx' in window)
  // the summary fragment is polled: once it came back, its paused marker is on the page
  await eventually(async () => (await page.locator('.q-paused').count()) > 0, 'the paused marker shown')
  t.match(await page.locator('.q-paused').first().textContent(), /paused · 2 held/)
  t.match(await page.locator('.queue-meta code').textContent(), PREFIX)
  t.same(errors, [], 'no script error')
  t.same(failed, [], 'every request of the page and its polls answered')
  t.same(await cspViolations(page), [])

  // the history recorder wrote the queue's series under the encoded name, nowhere else
  await eventually(async () => (await redis.keys('gravito:quasar:hist:{queue:*')).length > 0, 'history written')
  const keys = await redis.keys('gravito:quasar:hist:{queue:*')
  t.ok(
    keys.every((key) => key.startsWith(`gravito:quasar:hist:{queue:${service}:${queueKeyPart(NAME)}}:`)),
    `history keys: ${keys[0]}`,
  )
  t.notOk(queueKeyPart(NAME).match(/[:{}*?[\]\s]/), 'the key part holds no separator, brace, glob character or space')
  const history = await app.inject(`/api/pulse/queues/${encodeURIComponent(service)}/${encodeURIComponent(NAME)}/history?range=1h`)
  t.equal(history.statusCode, 200)
})
