/**
 * /alerts in a real browser (Debian's chromium), served under the strict CSP: the board polls its
 * fragment and shows a new firing alert, then its history, without a reload.
 */
import t from 'tap'
import { cspViolations, launchBrowser, listenLocally, recordCspViolations, recordPageErrors } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { rulesDir, writeBeat } from './fixtures.js'
import { CONTENT_SECURITY_POLICY as CSP } from '../../server/security/headers.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

const browser = await launchBrowser(t)

t.test('the board picks up a firing alert and its resolution by polling, with no CSP violation', async (t) => {
  const alertsFile = files.write('browser.json', { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, for: '0s' }] })
  const app = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200, alertsFile })
  t.teardown(() => app.close())
  const base = await listenLocally(app)

  await writeBeat(redis, Date.now(), 30)
  const page = await browser.newPage()
  t.teardown(() => page.close())
  const errors = recordPageErrors(page)
  await recordCspViolations(page)
  const response = await page.goto(`${base}/alerts`)
  t.equal(response?.headers()['content-security-policy'], CSP)
  await page.waitForFunction(() => 'htmx' in window)
  t.match(await page.locator('#alerts-board').innerText(), /Nothing is firing/)
  t.match(await page.locator('table').last().innerText(), /cpu-high\s+CPU above 90 %/, 'the rules table')

  const stop = setInterval(() => void writeBeat(redis, Date.now(), 99).catch(() => {}), 200)
  t.teardown(() => clearInterval(stop))
  await page.locator('#alerts-board tr.alert-current').waitFor({ timeout: 20_000 })
  const row = await page.locator('#alerts-board tr.alert-current').innerText()
  t.match(row, /cpu-high/)
  t.match(row, /billing\/web-1/)
  t.match(row, /CPU 99\.0 %/)
  t.match(row, /no channel/)

  clearInterval(stop)
  const calm = setInterval(() => void writeBeat(redis, Date.now(), 10).catch(() => {}), 200)
  t.teardown(() => clearInterval(calm))
  await page.locator('#alerts-board .alert-kind-resolved').waitFor({ timeout: 20_000 })
  await eventually(async () => (await page.locator('#alerts-board tr.alert-current').count()) === 0, 'the firing row is gone')
  t.equal(page.url(), `${base}/alerts`, 'no navigation')
  t.same(await cspViolations(page), [], 'no CSP violation')
  t.same(errors, [], 'no error in the console')
})
