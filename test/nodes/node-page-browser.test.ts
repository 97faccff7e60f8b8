/**
 * The node page in a real browser (Debian's chromium through playwright-core) under the strict
 * CSP: /assets/charts.js fetches the history API and uPlot draws the charts, and hovering a chart
 * shows the values under the cursor in its legend.
 */
import t from 'tap'
import type { Page } from 'playwright-core'
import type { FastifyInstance } from 'fastify'
import { launchBrowser, listenLocally, openPage, recordPageErrors } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { beat } from '../history/helpers.js'
import { CONTENT_SECURITY_POLICY as CSP } from '../../server/security/headers.js'

const { server: redisServer, redis } = await useRedis(t)

// half an hour of history up to now, recorded by a console on a fake clock
const seedClock = fakeClock(Date.now() - 30 * 60_000)
const seeder = await buildTestApp({ redisUrl: redisServer.url, clock: seedClock })
for (let i = 0; i < 180; i++) {
  await beat(redis, seedClock(), { cpu: 20 + (i % 30), lag: 1 + (i % 5) })
  await seeder.collector.refresh()
  seedClock.advance(10_000)
}
await seeder.close()

// the console people use: real clock, its own collector loop, the node still beating
const app: FastifyInstance = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200 })
t.teardown(() => app.close())
const beating = setInterval(() => void beat(redis, Date.now(), { cpu: 35 }).catch(() => {}), 500)
t.teardown(() => clearInterval(beating))
const base = await listenLocally(app)

const browser = await launchBrowser(t)

async function open(page: Page, url: string): Promise<string[]> {
  const problems = recordPageErrors(page)
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => console.error(`CSP ${event.violatedDirective} ${event.blockedURI}`))
  })
  const response = await page.goto(base + url)
  if (response?.headers()['content-security-policy'] !== CSP) throw new Error('the page is not served under the console CSP')
  return problems
}

t.test('the node page draws its charts and shows values on hover', async (t) => {
  const page = await openPage(t, browser, { viewport: { width: 1280, height: 900 } })
  const problems = await open(page, '/pulse/billing/node-1')

  await page.locator('.chart canvas').nth(3).waitFor()
  t.same(await page.locator('.chart-title').allTextContents(), ['CPU', 'Memory used', 'Process RSS', 'Event-loop lag'])
  const sizes = await page.locator('.chart canvas').evaluateAll((canvases) =>
    canvases.map((canvas) => {
      const box = canvas.getBoundingClientRect()
      return { width: box.width, height: box.height }
    }),
  )
  t.equal(sizes.length, 4, 'one canvas per chart')
  for (const size of sizes) t.ok(size.width > 100 && size.height > 50, `a drawn canvas of ${size.width}×${size.height}`)
  t.ok(await page.locator('[data-chart-status]').isHidden(), 'the loading note is gone once data is drawn')

  const cpu = page.locator('.chart').first()
  const value = cpu.locator('.u-legend .u-series').nth(1).locator('.u-value')
  const over = cpu.locator('.u-over')
  const box = (await over.boundingBox())!
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5)
  await page.waitForFunction((el) => /\d/.test(el?.textContent ?? ''), await value.elementHandle())
  const shown = (await value.textContent())!
  t.match(shown, /^\d+(\.\d)? %$/, `the legend shows the CPU under the cursor (${shown})`)
  const hovered = Number(shown.replace(' %', ''))
  t.ok(hovered >= 20 && hovered <= 49, 'a value from the recorded history')

  await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.5)
  await page.waitForFunction(([el, before]) => el?.textContent !== before, [await value.elementHandle(), shown] as const)
  t.not(await value.textContent(), shown, 'moving along the chart changes the value')

  t.same(problems, [], 'no error and no CSP violation')
})

t.test('the range links switch the charts to rollups', async (t) => {
  const page = await openPage(t, browser, { viewport: { width: 1280, height: 900 } })
  const problems = await open(page, '/pulse/billing/node-1')
  await page.locator('.range-switch a', { hasText: '6 h' }).click()
  await page.waitForURL(/range=6h$/)
  t.equal(await page.locator('.charts').getAttribute('data-chart-url'), '/charts/nodes/billing/node-1?range=6h')
  await page.locator('.chart canvas').nth(3).waitFor()
  t.equal(await page.locator('.range-switch a[aria-current="true"]').textContent(), '6 h')
  t.same(problems, [], 'no error and no CSP violation')
})

t.test('an unknown node: no charts, a 404 page', async (t) => {
  const page = await openPage(t, browser)
  const response = await page.goto(base + '/pulse/billing/ghost')
  t.equal(response?.status(), 404)
  t.equal(await page.locator('.chart').count(), 0)
})
