/**
 * In a real browser (Debian's chromium) under the console's CSP: an unknown URL shows the 404 page
 * with the navigation, whose links lead on; and the navigation's firing-alert count appears on an
 * open page through its poll, without a reload, when an alert starts firing.
 */
import t from 'tap'
import { launchBrowser, listenLocally, openPage, recordPageErrors } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { rulesDir, writeBeats } from '../alerts/fixtures.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())
const rules = files.write('rules.json', { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, channels: [] }] })

// the console people use: real clock, its own collector loop
const app = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200, alertsFile: rules })
t.teardown(() => app.close())
let cpu = 20
const beating = setInterval(() => void writeBeats(redis, Date.now(), [{ service: 'billing', nodeId: 'web-1', cpu }]).catch(() => {}), 300)
t.teardown(() => clearInterval(beating))
const base = await listenLocally(app)
const browser = await launchBrowser(t)

t.test('an unknown URL shows the 404 page with a navigation that leads on', async (t) => {
  const page = await openPage(t, browser, { viewport: { width: 390, height: 800 } })
  const problems = recordPageErrors(page)
  const response = await page.goto(`${base}/no/such/page`)
  t.equal(response?.status(), 404)
  t.equal(await page.locator('h1').textContent(), 'Not found')
  t.equal(await page.locator('nav.nav a').count(), 7, 'the whole navigation')
  await page.locator('nav.nav a', { hasText: 'Queues' }).click()
  await page.waitForURL(`${base}/queues`)
  t.equal(await page.locator('h1').textContent(), 'Queues', 'a navigation link leads to its page')
  // the browser logs the page's own 404 status; nothing else may fail
  t.same(
    problems.filter((problem) => !/status of 404/.test(problem)),
    [],
    'no page error, no CSP violation',
  )
})

t.test('the alert count appears through the poll when an alert starts firing', async (t) => {
  const page = await openPage(t, browser, { viewport: { width: 1280, height: 700 } })
  const problems = recordPageErrors(page)
  await page.goto(`${base}/queues`)
  t.equal(await page.locator('.nav-count').count(), 0, 'nothing fires: no count')
  cpu = 97
  // the poll (every 5 s) brings the count; no reload
  await page.locator('.nav-count').waitFor({ timeout: 20_000 })
  t.equal((await page.locator('.nav-count [aria-hidden="true"]').textContent())?.trim(), '1')
  t.equal(await page.locator('.nav-count').getAttribute('title'), '1 firing')
  cpu = 20
  await page.locator('.nav-count').waitFor({ state: 'detached', timeout: 20_000 })
  t.pass('resolved: the count is gone')
  t.same(problems, [], 'no page error, no CSP violation')
})
