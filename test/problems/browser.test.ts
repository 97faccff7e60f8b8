/**
 * /problems in a real browser (Debian's chromium through playwright-core) under the console's CSP:
 * keys whose names carry markup show as text, on first paint and after a poll swaps the list.
 */
import t from 'tap'
import { cspViolations, launchBrowser, listenLocally, openPage, recordCspViolations } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { CONTENT_SECURITY_POLICY as CSP } from '../../server/security/headers.js'

const { server: redisServer, redis } = await useRedis(t)
const browser = await launchBrowser(t)

const HOSTILE = ['gravito:quasar:node:<img src=x onerror="window.__pwned=1">:n1', 'gravito:quasar:node:<script>window.__pwned=2</script>:n1', 'gravito:quasar:node:svc:"><b id="injected">bold</b>']

t.test('a hostile key name shows as text, before and after a poll', async (t) => {
  for (const key of HOSTILE) await redis.set(key, '{}', 'EX', 300)
  const app = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200 })
  t.teardown(() => app.close())
  const base = await listenLocally(app)
  await eventually(async () => (await app.inject('/api/problems')).json().problems.length === HOSTILE.length, 'every hostile key recorded')

  const page = await openPage(t, browser)
  await recordCspViolations(page)
  const response = await page.goto(`${base}/problems`)
  t.equal(response?.headers()['content-security-policy'], CSP)
  await page.waitForFunction(() => 'htmx' in window)

  const shownKeys = () => page.$$eval('#problems-list .problems-key code', (cells) => cells.map((cell) => cell.textContent))
  const injected = () => page.evaluate(() => ({ pwned: (window as unknown as { __pwned?: number }).__pwned ?? null, elements: document.querySelectorAll('#problems-list img, #problems-list script, #injected').length }))
  t.same((await shownKeys()).sort(), [...HOSTILE].sort(), 'each key reads exactly as written')
  t.same(await injected(), { pwned: null, elements: 0 }, 'no markup from a key was parsed')

  // the list polls its fragment every 5 s; wait for one swap and look again
  await page.waitForResponse((answer) => answer.url().includes('/problems/fragments/list') && answer.status() === 200)
  await page.waitForFunction(() => document.querySelectorAll('#problems-list .problems-key code').length > 0)
  t.same((await shownKeys()).sort(), [...HOSTILE].sort(), 'after a poll too')
  t.same(await injected(), { pwned: null, elements: 0 })
  t.same(await cspViolations(page), [], 'no CSP violation')
})
