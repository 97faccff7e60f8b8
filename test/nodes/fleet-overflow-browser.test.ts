/**
 * No text or bar leaves its card, at any value: a real browser (Chromium) at 1440 px and 390 px,
 * over nodes with extreme values (100 % system CPU, 1e308 memory, negative and huge numbers,
 * names of 64 characters without a break, long versions, queues and firing alerts), in the cards
 * and the table. For every card, the visible box of every element inside it lies within the card's
 * box; a wide table scrolls inside its own container; and the page itself never scrolls sideways.
 */
import t from 'tap'
import type { Page } from 'playwright-core'
import { createKeys } from '@gravito/quasar/protocol'
import { launchBrowser, listenLocally, openPage, recordPageErrors } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { rulesDir } from '../alerts/fixtures.js'

const keys = createKeys()
const { server: redisServer, redis } = await useRedis(t)
const browser = await launchBrowser(t)

const LONG = 'x'.repeat(40) + '-' + 'y'.repeat(23)
const extremes: [string, string, Record<string, unknown>][] = [
  ['api', 'api-1', { cpu: { system: 100, process: 0.5, cores: 2 } }],
  ['api', 'api-2', { cpu: { system: 1e6, process: 1e6, cores: 1024 }, memory: { system: { total: 1e18, used: 9.99e17, free: 1e15 }, process: { rss: 1e18, heapTotal: 1e18, heapUsed: 1e18 } } }],
  ['api', 'api-10', { cpu: { system: -50, process: -1, cores: 0 }, disk: { path: '/' + 'd'.repeat(200), total: 1e18, free: 1 }, eventLoop: { lagMs: 1e9, p99Ms: 1e12 } }],
  [LONG.slice(0, 64), LONG.slice(0, 64), { hostname: 'h'.repeat(200), appVersion: 'v'.repeat(120), version: '9'.repeat(60), platform: 'p'.repeat(80), runtime: { uptime: 1e12, framework: 'f'.repeat(100) } }],
  ['queues', 'q-1', { hostname: 'vm', queues: Array.from({ length: 12 }, (_, i) => ({ name: `${'queue-'.repeat(10)}${i}`, driver: 'bullmq', metrics: { waiting: 1e15, active: 1e12, failed: 1e9 } })) }],
  ['queues', 'q-2', { hostname: 'vm', pid: 2 ** 31, cpu: { system: 99.99, process: 99.99, cores: 128 } }],
  ['hot', 'hot-1', { hostname: 'a.very.long.hostname.without.any.break.at.all.example.internal.company.com', cpu: { system: 97, process: 50, cores: 2 } }],
]

t.test('no element leaves its card, cards and table, at 1440 px and 390 px', async (t) => {
  await redis.flushall()
  const files = rulesDir()
  t.teardown(() => files.remove())
  const rule = { rules: [{ name: `cpu-${'high-'.repeat(12)}`, metric: 'cpu', above: 90, for: '2s' }] }
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: files.write('rules.json', rule) })
  t.teardown(() => app.close())
  for (let round = 0; round < 3; round++) {
    const pipeline = redis.pipeline()
    for (const [service, nodeId, extra] of extremes) {
      pipeline.set(keys.node(service, nodeId), JSON.stringify({ ...sampleHeartbeat({ timestamp: clock(), id: nodeId, service }), ...extra }), 'EX', 60)
      pipeline.zadd(keys.serviceNodeIndex(service), clock(), nodeId)
    }
    await pipeline.exec()
    await app.collector.refresh()
    await app.alerts.idle()
    clock.advance(2_000)
  }
  const base = await listenLocally(app)

  for (const width of [1440, 390]) {
    const page = await openPage(t, browser, { viewport: { width, height: 900 } })
    const errors = recordPageErrors(page)
    await page.goto(`${base}/pulse`)
    const cards = await page.locator('article.node').count()
    t.equal(cards, extremes.length, `${width} px: every node has a card`)
    t.ok((await page.locator('.node-alerts li').count()) >= 3, `${width} px: the alerting nodes show their alerts`)
    t.same(await escapes(page, 'article.node'), [], `${width} px: nothing leaves a card`)
    t.same(await sideways(page), null, `${width} px: the page does not scroll sideways`)

    await page.goto(`${base}/pulse?view=table`)
    t.equal(await page.locator('tr.node-row').count(), extremes.length)
    t.ok((await page.locator('.table-scroll').count()) > 0, 'the table sits in its own scroll container')
    t.same(await escapes(page, 'main'), [], `${width} px table: what the scroll container does not hold in view, it clips: nothing leaves the page's main column`)
    t.same(await sideways(page), null, `${width} px table: the page does not scroll sideways`)
    t.same(errors, [])
  }
})

/**
 * Elements of each container whose visible box leaves the container's box. The visible box is the
 * element's box cut by every ancestor inside the container that clips (overflow other than
 * visible): text ellipsized by its parent is not outside, text running past its card is.
 */
function escapes(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((selector) => {
    const found: string[] = []
    for (const container of document.querySelectorAll(selector)) {
      const outer = container.getBoundingClientRect()
      for (const element of container.querySelectorAll('*')) {
        let box = element.getBoundingClientRect()
        if (box.width === 0 && box.height === 0) continue
        let left = box.left
        let right = box.right
        let top = box.top
        let bottom = box.bottom
        for (let parent = element.parentElement; parent && parent !== container; parent = parent.parentElement) {
          const style = getComputedStyle(parent)
          if (style.overflowX === 'visible' && style.overflowY === 'visible') continue
          box = parent.getBoundingClientRect()
          left = Math.max(left, box.left)
          right = Math.min(right, box.right)
          top = Math.max(top, box.top)
          bottom = Math.min(bottom, box.bottom)
        }
        if (right <= left || bottom <= top) continue
        const slack = 0.5
        if (left < outer.left - slack || right > outer.right + slack || top < outer.top - slack || bottom > outer.bottom + slack) {
          const name = `${element.tagName.toLowerCase()}.${[...element.classList].join('.')}`
          found.push(`${container.id || container.className}: ${name} [${Math.round(left)}..${Math.round(right)}] outside [${Math.round(outer.left)}..${Math.round(outer.right)}]`)
        }
      }
    }
    return found
  }, selector)
}

function sideways(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const width = document.documentElement.scrollWidth
    return width > window.innerWidth ? `scrollWidth ${width} > ${window.innerWidth}` : null
  })
}
