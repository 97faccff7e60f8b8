/**
 * /pulse in a real browser (Debian's chromium through playwright-core), against the app listening
 * on a free port with a real Redis and the collector running on its own short tick. The page is
 * served under the console's strict CSP, and any violation fails the test.
 */
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { createKeys } from '@gravito/quasar/protocol'
import type { FastifyInstance } from 'fastify'
import { cspViolations, launchBrowser, listenLocally, openPage, recordCspViolations, recordPageErrors } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { eventually } from '../helpers/eventually.js'
import { CONTENT_SECURITY_POLICY as CSP } from '../../server/security/headers.js'

const LANGUAGES = ['node', 'bun', 'deno', 'php', 'go', 'python', 'other'] as const
const keys = createKeys()

const { server: redisServer, redis } = await useRedis(t)

const browser = await launchBrowser(t)

interface Console {
  app: FastifyInstance
  base: string
  /** what the server answered to each poll */
  fragmentStatuses: number[]
  /** moves the console's clock ahead of real time: nodes that did not beat since look silent that long */
  skipAhead(ms: number): void
}

/**
 * A console of its own per test (over an emptied Redis), listening on a free port with the
 * collector on a 200 ms tick: dead nodes of an earlier test would otherwise linger for the grace
 * period.
 */
async function startConsole(t: Test): Promise<Console> {
  await redis.flushall()
  // health is judged by the console's clock, so a node is made stale or dead by moving that clock
  // past its last beat, not by writing an old timestamp
  let offset = 0
  const app = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 200, clock: () => Date.now() + offset })
  t.teardown(() => app.close())
  const base = await listenLocally(app)
  const fragmentStatuses: number[] = []
  app.server.on('request', (request, response) => {
    if (request.url?.startsWith('/fragments/pulse/nodes')) response.on('finish', () => fragmentStatuses.push(response.statusCode))
  })
  return { app, base, fragmentStatuses, skipAhead: (ms) => void (offset += ms) }
}

interface FakeNode {
  service: string
  nodeId: string
  payload: Record<string, unknown>
  /** written once, then silent: keepBeating leaves it alone */
  silent?: boolean
}

/** Rewrites every node's heartbeat now, as agents beating would; returns a stop function. */
function keepBeating(nodes: FakeNode[], everyMs = 200): () => void {
  let written = false
  const write = async () => {
    const now = Date.now()
    const pipeline = redis.pipeline()
    for (const node of nodes) {
      if (node.silent && written) continue
      pipeline.set(keys.node(node.service, node.nodeId), JSON.stringify({ ...node.payload, timestamp: now }), 'EX', 30)
      pipeline.zadd(keys.nodeIndex(), now, keys.indexMember(node.service, node.nodeId))
    }
    await pipeline.exec()
    written = true
  }
  void write()
  const timer = setInterval(() => void write().catch(() => {}), everyMs)
  return () => clearInterval(timer)
}

function fleet(): FakeNode[] {
  const nodes: FakeNode[] = []
  const services: [string, number][] = [['billing', 12], ['api', 12], ['worker', 8]]
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

/** The console with the whole fleet beating and listed, as most tests here start. */
async function consoleWithFleet(t: Test): Promise<Console & { nodes: FakeNode[] }> {
  const started = await startConsole(t)
  const nodes = fleet()
  t.teardown(keepBeating(nodes))
  await waitForNodes(started.app, nodes.length)
  return { ...started, nodes }
}

async function openPulse(page: Page, base: string, url = '/pulse') {
  await recordCspViolations(page)
  const response = await page.goto(base + url)
  if (response?.headers()['content-security-policy'] !== CSP) throw new Error('the page is not served under the console CSP')
  await page.waitForFunction(() => 'htmx' in window)
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
  const { base, nodes } = await consoleWithFleet(t)

  const page = await openPage(t, browser, { viewport: { width: 1280, height: 720 } })
  const errors = recordPageErrors(page)
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
  const { app, base, fragmentStatuses, skipAhead } = await startConsole(t)
  // nodes that stopped beating a minute ago: their markup ("1 min ago", dead) holds still, so
  // successive polls get the same ETag; fresh nodes' "4 s ago" changes every second
  const at = Date.now()
  for (const nodeId of ['old-1', 'old-2', 'old-3']) {
    await redis.set(keys.node('legacy', nodeId), JSON.stringify(sampleHeartbeat({ timestamp: at, id: nodeId, service: 'legacy', hostname: nodeId })), 'EX', 300)
    await redis.zadd(keys.nodeIndex(), at, keys.indexMember('legacy', nodeId))
  }
  await waitForNodes(app, 3)
  skipAhead(65_000)

  const page = await openPage(t, browser)
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
  const { base, nodes } = await consoleWithFleet(t)

  const page = await openPage(t, browser, { viewport: { width: 1280, height: 720 } })
  await openPulse(page, base)
  await page.evaluate(() => ((window as unknown as { __marker: string }).__marker = 'kept'))

  const polled: string[] = []
  page.on('request', (request) => {
    if (request.url().includes('/fragments/pulse/nodes')) polled.push(new URL(request.url()).search)
  })
  await page.selectOption('#service-filter', 'worker')
  await page.waitForFunction(() => document.querySelectorAll('article.node').length === 8)
  t.equal(new URL(page.url()).search, '?service=worker', 'the URL keeps the filter')
  t.equal(await page.evaluate(() => (window as unknown as { __marker?: string }).__marker), 'kept', 'no full reload')
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
  const noJs = await openPage(t, browser, { javaScriptEnabled: false })
  await noJs.goto(`${base}/pulse`)
  await noJs.selectOption('#service-filter', 'api')
  await noJs.click('.filter button[type="submit"]')
  await noJs.waitForURL('**/pulse?service=api')
  t.equal(await noJs.locator('article.node').count(), 12)
})

t.test('htmx is locked down: no eval, no script from a response; failed polls say so', async (t) => {
  const { app, base } = await startConsole(t)
  const stop = keepBeating(fleet().slice(0, 2))
  t.teardown(stop)
  await waitForNodes(app, 2)
  const page = await openPage(t, browser)
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
  await page.route('**/fragments/pulse/nodes*', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<p id="injected">hello<script src="/assets/zenith.js"></script></p>' }),
  )
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

t.test('screenshots, light and dark', async (t) => {
  const { app, base, skipAhead } = await startConsole(t)
  const nodes = showcase()
  // a node silent for 95 s whose key is still there: dead, with its last values
  const dead = { ...sampleHeartbeat({ timestamp: Date.now(), id: 'api-4', service: 'api', hostname: 'ip-10-0-3-17', version: '22.11.0', appVersion: '3.8.0' }), runtime: { uptime: 86_400 * 2 + 3600 * 5, framework: 'fastify' } }
  await redis.set(keys.node('api', 'api-4'), JSON.stringify(dead), 'EX', 300)
  await waitForNodes(app, 1)
  skipAhead(74_000)
  // then the others, one of which beats once and falls silent for 21 s: stale
  const stop = keepBeating(nodes)
  t.teardown(stop)
  await waitForNodes(app, nodes.length + 1)
  skipAhead(21_000)

  const page = await openPage(t, browser, { viewport: { width: 1360, height: 900 } })
  await openPulse(page, base)
  await page.waitForFunction(() => document.querySelectorAll('.node-dead').length === 1 && document.querySelectorAll('.node-stale').length === 1)
  await page.screenshot({ path: '/tmp/pulse.png', fullPage: true })
  await page.emulateMedia({ colorScheme: 'dark' })
  t.equal(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), true)
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
  t.not(background, 'rgb(244, 245, 247)', 'the dark theme applies')
  await page.screenshot({ path: '/tmp/pulse-dark.png', fullPage: true })
  t.same(await cspViolations(page), [])
})

/** A small, varied fleet that looks like a real one, for the screenshots. */
function showcase(): FakeNode[] {
  const gib = 1024 ** 3
  const node = (service: string, nodeId: string, fields: Record<string, unknown>, extra: Partial<FakeNode> = {}): FakeNode => {
    const i = Number(nodeId.at(-1))
    return {
      service,
      nodeId,
      ...extra,
      payload: {
        ...sampleHeartbeat({ timestamp: 0, id: nodeId, service }),
        cpu: { system: 18 + ((i * 23) % 60), process: 4 + ((i * 7) % 14), cores: 4 },
        memory: { system: { total: 16 * gib, free: (5 + i) * gib, used: (11 - i) * gib }, process: { rss: (180 + i * 95) * 1024 ** 2, heapTotal: 120e6, heapUsed: 90e6 } },
        disk: { path: '/', total: 200 * gib, free: (60 + i * 17) * gib },
        eventLoop: { lagMs: 0.4 + i * 0.7, p99Ms: 6 + i * 5 },
        ...fields,
      },
    }
  }
  const api = { language: 'node', version: '22.11.0', appVersion: '3.8.1', platform: 'linux' }
  const billing = { language: 'php', version: '8.3.14', appVersion: '2025.11.2', platform: 'linux', eventLoop: undefined }
  const queues = (failed: number) => [
    { name: 'emails', driver: 'bullmq', metrics: { waiting: 12 + failed * 40, active: 4, failed } },
    { name: 'invoices', driver: 'bullmq', metrics: { waiting: 3, active: 1, failed: 0 } },
    { name: 'webhooks', driver: 'bullmq', metrics: { waiting: 0, active: 2, failed: failed > 0 ? 1 : 0 } },
  ]
  return [
    node('api', 'api-1', { ...api, hostname: 'ip-10-0-1-21', runtime: { uptime: 86_400 * 6 + 3600 * 3, framework: 'fastify' } }),
    node('api', 'api-2', { ...api, hostname: 'ip-10-0-1-54', runtime: { uptime: 86_400 * 6 + 3600 * 2, framework: 'fastify' } }),
    node('api', 'api-3', { ...api, hostname: 'ip-10-0-2-9', runtime: { uptime: 3600 * 7 + 60 * 12, framework: 'fastify' } }),
    node('billing', 'billing-1', { ...billing, hostname: 'billing-7d9f-x2k', runtime: { uptime: 86_400 + 3600 * 4, framework: 'laravel' } }),
    node('billing', 'billing-2', { ...billing, hostname: 'billing-7d9f-q8m', runtime: { uptime: 3600 * 2 + 60 * 40, framework: 'laravel' } }, { silent: true }),
    node('edge', 'edge-1', { language: 'go', version: 'go1.23.4', appVersion: 'v0.19.3', hostname: 'edge-fra-1', platform: 'linux', runtime: { uptime: 86_400 * 12 } }),
    node('edge', 'edge-2', { language: 'bun', version: '1.1.38', appVersion: 'v0.19.3', hostname: 'edge-ams-1', platform: 'linux', runtime: { uptime: 60 * 5 + 2 } }),
    node('edge', 'edge-3', { language: 'python', version: '3.12.7', appVersion: '1.4.0', hostname: 'edge-ml-1', platform: 'linux', runtime: { uptime: 3600 * 30, framework: 'fastapi' }, disk: { path: '/data', total: 500 * gib, free: 31 * gib } }),
    node('worker', 'worker-1', { ...api, appVersion: '3.8.1', hostname: 'worker-5c6b-a1', runtime: { uptime: 86_400 * 3 + 3600 * 9 }, queues: queues(0) }),
    node('worker', 'worker-2', { ...api, appVersion: '3.8.1', hostname: 'worker-5c6b-b7', runtime: { uptime: 86_400 * 3 + 3600 * 9 }, queues: queues(7) }),
  ]
}

async function waitForNodes(app: FastifyInstance, count: number) {
  await eventually(async () => {
    const body = (await app.inject('/api/pulse/nodes')).json() as { services: { nodes: unknown[] }[] }
    return body.services.reduce((sum, s) => sum + s.nodes.length, 0) >= count
  }, `${count} nodes in the snapshot`)
}

