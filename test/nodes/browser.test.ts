/**
 * /pulse in a real browser (Debian's chromium through playwright-core), against the app listening
 * on a free port with a real Redis and the collector running on its own short tick. The page is
 * served under the console's strict CSP, and any violation fails the test.
 */
import t from 'tap'
import type { Page } from 'playwright-core'
import { createKeys } from '@gravito/quasar/protocol'
import { cspViolations, launchBrowser } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { eventually } from '../helpers/eventually.js'
import { keepBeating, openPulse, startConsole, waitForNodes, type FakeNode } from './pulse-browser.js'

const LANGUAGES = ['node', 'bun', 'deno', 'php', 'go', 'python', 'other'] as const
const keys = createKeys()

const { server: redisServer, redis } = await useRedis(t)

const browser = await launchBrowser(t)

function fleet(): FakeNode[] {
  const nodes: FakeNode[] = []
  const services: [string, number][] = [
    ['billing', 12],
    ['api', 12],
    ['worker', 8],
  ]
  let n = 0
  for (const [service, size] of services) {
    for (let i = 1; i <= size; i++, n++) {
      const nodeId = `${service}-${String(i).padStart(2, '0')}`
      nodes.push({
        service,
        nodeId,
        payload: {
          ...sampleHeartbeat({ timestamp: 0, id: nodeId, service, hostname: `${service}-host-${i}`, language: LANGUAGES[n % LANGUAGES.length]! }),
          cpu: { system: 20 + ((n * 17) % 70), process: 5 + ((n * 7) % 15), cores: 4 },
          runtime: { uptime: 3600 * (n + 1) + 125 },
          ...(service === 'worker' ? { queues: [{ name: 'emails', driver: 'bullmq', metrics: { waiting: n * 3, active: 2, failed: n % 3 } }] } : {}),
        },
      })
    }
  }
  return nodes
}

/** Records whether the polled region ever lost all its cards (a blanked swap). */
async function watchForBlanking(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { __blanked: boolean }
    w.__blanked = false
    const region = document.getElementById('pulse-nodes')!
    new MutationObserver(() => {
      if (region.querySelectorAll('article.node').length === 0) w.__blanked = true
    }).observe(region, { childList: true, subtree: true })
  })
}

t.test('cards update in place on poll: no navigation, no scroll jump', async (t) => {
  const { app, base } = await startConsole(t, redis, redisServer.url)
  const nodes = fleet()
  const stop = keepBeating(redis, nodes)
  t.teardown(stop)
  await waitForNodes(app, nodes.length)

  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  await openPulse(page, base)

  const target = page.locator('[id="node:api:api-06"]')
  await target.waitFor()
  t.equal(await target.locator('.node-host').textContent(), 'api-host-6')
  t.equal(await page.locator('article.node').count(), nodes.length)

  // a marker on window survives only if the page is never reloaded; one on the card only if
  // the card's element is patched in place rather than replaced
  await watchForBlanking(page)
  await page.evaluate(() => {
    ;(window as unknown as { __marker: string }).__marker = 'still here'
    ;(document.getElementById('node:api:api-06') as unknown as { __card: number }).__card = 1
  })
  await page.evaluate(() => window.scrollTo(0, 600))
  await page.waitForFunction(() => window.scrollY === 600)
  const scrollBefore = await page.evaluate(() => window.scrollY)
  t.ok(scrollBefore > 0, 'the page is long enough to scroll')

  // the agent changes its payload; the next poll shows it
  const node = nodes.find((n) => n.nodeId === 'api-06')!
  node.payload = { ...node.payload, hostname: 'api-host-6-renamed', appVersion: '9.9.9' }
  await page.waitForFunction(() => document.querySelector('[id="node:api:api-06"] .node-host')?.textContent === 'api-host-6-renamed', undefined, { timeout: 20_000 })
  t.match(await target.locator('.facts').textContent(), '9.9.9')

  t.equal(await page.evaluate(() => (window as unknown as { __marker: string }).__marker), 'still here', 'no navigation happened')
  t.equal(await page.evaluate(() => (document.getElementById('node:api:api-06') as unknown as { __card?: number }).__card), 1, 'the card element was morphed, not replaced')
  t.equal(await page.evaluate(() => window.scrollY), scrollBefore, 'the scroll position did not move')
  t.equal(await page.evaluate(() => (window as unknown as { __blanked: boolean }).__blanked), false, 'the region was never blank')
  t.same(await cspViolations(page), [], 'no CSP violation')
  t.same(errors, [], 'no error in the console')
})

t.test('an unchanged fragment is not stored by the browser, and a bare 304 leaves the region as it was', async (t) => {
  const { app, base, fragmentStatuses, skipAhead } = await startConsole(t, redis, redisServer.url)
  // nodes that stopped beating a minute ago: their markup ("1 min ago", dead) holds still, so
  // successive polls get the same ETag; fresh nodes' "4 s ago" changes every second
  const at = Date.now()
  for (const nodeId of ['old-1', 'old-2', 'old-3']) {
    await redis.set(keys.node('legacy', nodeId), JSON.stringify(sampleHeartbeat({ timestamp: at, id: nodeId, service: 'legacy', hostname: nodeId })), 'EX', 300)
    await redis.zadd(keys.nodeIndex(), at, keys.indexMember('legacy', nodeId))
  }
  await waitForNodes(app, 3)
  skipAhead(65_000)

  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  await openPulse(page, base, '/pulse?service=legacy')
  t.equal(await page.locator('article.node-dead').count(), 3)
  await watchForBlanking(page)

  // every answer is no-store: the browser keeps no copy to revalidate, so each poll gets the
  // fragment itself (rendered once per snapshot, on the server) and swaps the same markup
  const before = fragmentStatuses.length
  await eventually(() => fragmentStatuses.length >= before + 2, 'two more polls')
  t.notOk(fragmentStatuses.slice(before).includes(304), 'no revalidation of a stored copy')
  t.equal(await page.locator('article.node-dead').count(), 3, 'the region is intact after the polls')

  // a 304 handed to htmx itself, as a fetch that bypasses the browser cache would see it
  let forced = 0
  await page.route('**/fragments/pulse/nodes*', async (route) => {
    forced++
    await route.fulfill({ status: 304, body: '' })
  })
  await eventually(() => forced >= 2, 'two polls answered with a bare 304')
  t.equal(await page.locator('article.node-dead').count(), 3, 'htmx does not swap a bare 304')
  t.equal(await page.evaluate(() => (window as unknown as { __blanked: boolean }).__blanked), false, 'the region was never blank')
  t.same(await cspViolations(page), [])
})

t.test('the service filter: with htmx it swaps the region and keeps polling the filtered URL', async (t) => {
  const { app, base } = await startConsole(t, redis, redisServer.url)
  const nodes = fleet()
  const stop = keepBeating(redis, nodes)
  t.teardown(stop)
  await waitForNodes(app, nodes.length)

  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  await openPulse(page, base)
  await page.evaluate(() => ((window as unknown as { __marker: string }).__marker = 'kept'))

  await page.selectOption('#service-filter', 'worker')
  await page.waitForFunction(() => document.querySelectorAll('article.node').length === 8)
  t.equal(new URL(page.url()).search, '?service=worker', 'the URL keeps the filter')
  t.equal(await page.evaluate(() => (window as unknown as { __marker?: string }).__marker), 'kept', 'no full reload')
  // polls are counted from the swap on: one sent just before the filter changed is the old page's
  const polled: string[] = []
  page.on('request', (request) => {
    if (request.url().includes('/fragments/pulse/nodes')) polled.push(new URL(request.url()).search)
  })
  await eventually(() => polled.length > 0, 'a poll after the filter changed')
  t.same([...new Set(polled)], ['?service=worker'], 'polls ask for the filtered fragment only')
  t.equal(await page.locator('article.node').count(), 8)

  // Back restores the unfiltered page (htmx history), filter control included
  await page.goBack()
  await page.waitForFunction((count) => document.querySelectorAll('article.node').length === count, nodes.length)
  t.equal(new URL(page.url()).search, '')
  t.equal(await page.locator('#service-filter').inputValue(), '')
  t.same(await cspViolations(page), [])

  // without JavaScript the same form is a plain GET
  const plain = await browser.newContext({ javaScriptEnabled: false })
  t.teardown(() => plain.close())
  const noJs = await plain.newPage()
  await noJs.goto(`${base}/pulse`)
  await noJs.selectOption('#service-filter', 'api')
  await noJs.click('.filter button[type="submit"]')
  await noJs.waitForURL('**/pulse?service=api')
  t.equal(await noJs.locator('article.node').count(), 12)
})

t.test('htmx is locked down: no eval, no script from a response; failed polls say so', async (t) => {
  const { app, base } = await startConsole(t, redis, redisServer.url)
  const stop = keepBeating(redis, fleet().slice(0, 2))
  t.teardown(stop)
  await waitForNodes(app, 2)
  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  await openPulse(page, base)
  await page.locator('article.node').first().waitFor()

  // hx-on code is refused by the zenith extension before it could reach eval (and the CSP)
  await page.evaluate(() => {
    const button = document.createElement('button')
    button.id = 'probe'
    button.setAttribute('hx-on:click', 'window.__evaluated = true')
    document.querySelector('.page-head')!.append(button)
    ;(window as unknown as { htmx: { process(element: Element): void } }).htmx.process(button)
  })
  await page.click('#probe')
  await page.waitForTimeout(200)
  t.equal(await page.evaluate(() => (window as unknown as { __evaluated?: boolean }).__evaluated), undefined, 'hx-on did not run')

  // a <script> in swapped content is dropped before it reaches the page
  await page.route('**/fragments/pulse/nodes*', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<p id="injected">hello<script src="/assets/zenith.js"></script></p>' }))
  await page.locator('#injected').waitFor()
  t.equal(await page.locator('#pulse-nodes script').count(), 0, 'no script element was swapped in')

  // polls that fail show the notice; the next good one hides it
  await page.unroute('**/fragments/pulse/nodes*')
  await page.route('**/fragments/pulse/nodes*', (route) => route.abort('connectionrefused'))
  await page.locator('#console-offline').waitFor({ state: 'visible' })
  t.ok(await page.locator('#console-offline').isVisible(), 'the notice shows while polls fail')
  await page.unroute('**/fragments/pulse/nodes*')
  await page.locator('#console-offline').waitFor({ state: 'hidden' })
  await page.locator('article.node').first().waitFor()
  t.same(await cspViolations(page), [], 'no CSP violation: eval was refused before the browser had to block it')
})
