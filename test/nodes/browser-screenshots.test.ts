/**
 * Screenshots of /pulse in a real browser (Debian's chromium through playwright-core), light and
 * dark, of a small fleet with a stale and a dead node, under the console's strict CSP.
 */
import t from 'tap'
import { createKeys } from '@gravito/quasar/protocol'
import { cspViolations, launchBrowser } from '../helpers/browser.js'
import { useRedis } from '../helpers/redis-server.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { keepBeating, openPulse, startConsole, waitForNodes, type FakeNode } from './pulse-browser.js'

const keys = createKeys()

const { server: redisServer, redis } = await useRedis(t)

const browser = await launchBrowser(t)

t.test('screenshots, light and dark', async (t) => {
  const { app, base, skipAhead } = await startConsole(t, redis, redisServer.url)
  const nodes = showcase()
  // a node silent for 95 s whose key is still there: dead, with its last values
  const dead = {
    ...sampleHeartbeat({ timestamp: Date.now(), id: 'api-4', service: 'api', hostname: 'ip-10-0-3-17', version: '22.11.0', appVersion: '3.8.0' }),
    runtime: { uptime: 86_400 * 2 + 3600 * 5, framework: 'fastify' },
  }
  await redis.set(keys.node('api', 'api-4'), JSON.stringify(dead), 'EX', 300)
  await waitForNodes(app, 1)
  skipAhead(74_000)
  // then the others, one of which beats once and falls silent for 21 s: stale
  const stop = keepBeating(redis, nodes)
  t.teardown(stop)
  await waitForNodes(app, nodes.length + 1)
  skipAhead(21_000)

  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
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
    node('edge', 'edge-3', {
      language: 'python',
      version: '3.12.7',
      appVersion: '1.4.0',
      hostname: 'edge-ml-1',
      platform: 'linux',
      runtime: { uptime: 3600 * 30, framework: 'fastapi' },
      disk: { path: '/data', total: 500 * gib, free: 31 * gib },
    }),
    node('worker', 'worker-1', { ...api, appVersion: '3.8.1', hostname: 'worker-5c6b-a1', runtime: { uptime: 86_400 * 3 + 3600 * 9 }, queues: queues(0) }),
    node('worker', 'worker-2', { ...api, appVersion: '3.8.1', hostname: 'worker-5c6b-b7', runtime: { uptime: 86_400 * 3 + 3600 * 9 }, queues: queues(7) }),
  ]
}
