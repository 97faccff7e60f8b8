/**
 * In a real browser (Debian's chromium), which resolves `.` and `..` segments before it requests a
 * link: clicking a node or queue whose name is `..`, `.`, or the fixed segments of a fragment route
 * lands on that very node's or queue's page, and every request the page then makes (its polled
 * fragments, its chart data) is answered.
 */
import t, { type Test } from 'tap'
import { HEARTBEAT_TTL_SECONDS } from '@gravito/quasar/protocol'
import type { Page } from 'playwright-core'
import { launchBrowser, listenLocally, openPage } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { keys, writeSnapshot } from '../queues/helpers.js'
import { nodeUrl, queueUrl } from '../../server/http/urls.js'

const { server: redisServer, redis } = await useRedis(t)

/** service, node id, and the host name its card links under */
const NODES: Array<[string, string, string]> = [
  ['billing', '..', 'host-dotdot'],
  ['..', '.', 'host-dots'],
  ['fragments', 'nodes', 'host-fragments'],
]
const QUEUES: Array<[string, string]> = [
  ['billing', '..'],
  ['fragments', 'table'],
]

const clock = fakeClock(Date.now())
for (const [service, nodeId, hostname] of NODES) {
  const heartbeat = sampleHeartbeat({ timestamp: clock(), id: nodeId, service, hostname })
  await redis.multi().set(keys.node(service, nodeId), JSON.stringify(heartbeat), 'EX', HEARTBEAT_TTL_SECONDS).zadd(keys.nodeIndex(), clock(), keys.indexMember(service, nodeId)).exec()
}
for (const [service, name] of QUEUES) {
  await writeSnapshot(redis, service, { timestamp: clock(), nodeId: 'worker-1', queues: [{ name, driver: 'bullmq', metrics: { waiting: 1, active: 0, failed: 0 } }] })
}
const app = await buildTestApp({ redisUrl: redisServer.url, clock })
t.teardown(() => app.close())
await app.collector.refresh()
await app.collector.refresh()
const base = await listenLocally(app)
const browser = await launchBrowser(t)

async function openWatchedPage(t: Test) {
  const page = await openPage(t, browser)
  const failed: string[] = []
  page.on('response', (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`)
  })
  return { page, failed }
}

/**
 * Fetches, from the page, every URL it polls (hx-get) or draws charts from (data-chart-url): the
 * browser resolves them as it resolves links. Keyed by their last segment.
 */
async function linkedData(page: Page): Promise<Record<string, number>> {
  const answers = await page.evaluate(async () => {
    const urls = [...document.querySelectorAll('[hx-get], [data-chart-url]')].map((element) => element.getAttribute('hx-get') ?? element.getAttribute('data-chart-url') ?? '')
    return Promise.all(urls.map(async (url) => [url, (await fetch(url)).status] as const))
  })
  // chart data lives under /charts/, named like the page; the other regions by their last segment
  return Object.fromEntries(answers.map(([url, status]) => [url.startsWith('/charts/') ? 'chart' + url.slice(url.indexOf('?')) : url.slice(url.lastIndexOf('/') + 1), status]))
}

for (const [service, nodeId, hostname] of NODES) {
  t.test(`clicking node ${service} / ${nodeId} on /pulse opens its page`, async (t) => {
    const { page, failed } = await openWatchedPage(t)
    await page.goto(`${base}/pulse`)
    await page.getByRole('link', { name: hostname, exact: true }).click()
    // the builder's link, not where a browser would have resolved a bare `..` to
    await page.waitForURL(base + nodeUrl(service, nodeId), { timeout: 10_000 })
    t.equal(await page.locator('h1.page-title').textContent(), nodeId, `landed on ${new URL(page.url()).pathname}, the page of ${nodeId}`)
    t.equal(await page.locator('nav.crumbs a[href^="/pulse?service="]').textContent(), service)
    t.same(await linkedData(page), { details: 200, 'chart?range=1h': 200, 'nav-count': 200 }, 'its polled region and chart data, fetched as the page fetches them')
    t.same(failed, [], 'every request of the page answered')
  })
}

for (const [service, name] of QUEUES) {
  t.test(`clicking queue ${service} / ${name} on /queues opens its page`, async (t) => {
    const { page, failed } = await openWatchedPage(t)
    await page.goto(`${base}/queues?service=${encodeURIComponent(service)}`)
    await page.getByRole('link', { name, exact: true }).click()
    await page.waitForURL(base + queueUrl(service, name), { timeout: 10_000 })
    t.equal(await page.locator('h1.page-title').textContent(), name, `landed on ${new URL(page.url()).pathname}, the page of ${name}`)
    t.equal(await page.locator('nav.crumbs a[href^="/queues?service="]').textContent(), service)
    t.same(
      await linkedData(page),
      { summary: 200, failed: 200, 'jobs?state=waiting': 200, 'jobs?state=failed': 200, 'chart?range=1h': 200, 'nav-count': 200 },
      'its polled regions, job tabs and chart data, fetched as the page fetches them',
    )
    t.same(failed, [], 'every request of the page answered')
  })
}
