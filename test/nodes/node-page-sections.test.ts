/**
 * The node page shows what other areas know of the node, from the same snapshot: the queues it
 * reports (linking to their pages, flagged when an alert fires on them), its latest slow entries
 * (its own only, newest first, at most ten) and the alerts firing for it. Many nodes of two services, with queues and slow entries
 * written in seeded orders; each page holds its own node's data and none of another's.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { shuffled } from '../helpers/shuffle.js'
import { writeSnapshot } from '../queues/helpers.js'
import { rulesDir, writeBeats } from '../alerts/fixtures.js'
import { NODE_ENTRIES } from '../../server/slow/node-entries.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

/** the section of the page from its heading to the next section */
function section(html: string, id: string): string {
  const at = html.indexOf(`id="${id}"`)
  if (at < 0) throw new Error(`no ${id} on the page`)
  const end = html.indexOf('</section>', at)
  return html.slice(at, end)
}

const NODES = ['web-1', 'web-2', 'web-10', 'worker-1']

for (const seed of [3, 11]) {
  t.test(`seed ${seed}: each node page lists its own queues, slow entries and firing alerts`, async (t) => {
    await redis.flushall()
    const rules = files.write(`rules-${seed}.json`, {
      rules: [
        { name: 'cpu-high', metric: 'cpu', above: 90, channels: [] },
        { name: 'backlog', metric: 'queue_backlog', above: 10, channels: [] },
      ],
    })
    const clock = fakeClock()
    const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rules })
    t.teardown(() => app.close())
    const now = clock()

    // web-1 and worker-1 run hot; the others do not
    await writeBeats(redis, now, [...NODES.map((nodeId) => ({ service: 'billing', nodeId, cpu: nodeId === 'web-1' || nodeId === 'worker-1' ? 97 : 20 })), { service: 'shop', nodeId: 'web-1', cpu: 30 }])
    // queues: some per node, one node with none, and the same node id in another service
    const queuesOf: Record<string, string[]> = { 'web-1': ['emails', 'pdf'], 'web-2': ['reports'], 'worker-1': ['a:b c', 'images', 'video'] }
    const entries = shuffled(
      Object.entries(queuesOf).flatMap(([nodeId, names]) => names.map((name, i) => ({ name, driver: 'bullmq', nodeId, metrics: { waiting: i * 7, active: 1, failed: i }, oldestWaitingMs: i * 90_000 }))),
      seed,
    )
    await writeSnapshot(redis, 'billing', { timestamp: now, nodeId: 'web-1', queues: entries })
    await writeSnapshot(redis, 'shop', { timestamp: now, nodeId: 'web-1', queues: [{ name: 'orders', driver: 'laravel', metrics: { waiting: 1 } }] })
    // slow entries: 15 from web-1, 4 from web-2, none from web-10, interleaved in a seeded order
    const slowNodes = shuffled([...Array(15).fill('web-1'), ...Array(4).fill('web-2'), ...Array(3).fill('worker-1')], seed)
    for (const [i, nodeId] of slowNodes.entries()) {
      await redis.xadd('gravito:quasar:slow:billing', '*', 'kind', i % 2 ? 'job' : 'request', 'name', `op-${nodeId}-${i}`, 'durationMs', String(1000 + i), 'timestamp', String(now - 60_000 + i * 1000), 'nodeId', nodeId)
    }
    await redis.xadd('gravito:quasar:slow:shop', '*', 'kind', 'request', 'name', 'shop-op', 'durationMs', '2000', 'timestamp', String(now), 'nodeId', 'web-1')
    for (let i = 0; i < 3; i++) {
      await app.collector.refresh()
      await app.alerts.idle()
    }

    for (const nodeId of NODES) {
      const page = await app.inject(`/pulse/billing/${nodeId}`)
      t.equal(page.statusCode, 200, `${nodeId}: page`)
      const fragment = await app.inject(`/pulse/billing/${nodeId}/fragments/details`)
      for (const [where, html] of [
        ['page', page.body],
        ['fragment', fragment.body],
      ] as const) {
        const queues = section(html, 'node-queues-title')
        const own = queuesOf[nodeId] ?? []
        t.same(
          [...queues.matchAll(/<a href="(\/queues\/[^"]+)">/g)].map((m) => m[1]),
          own.map((name) => `/queues/billing/${encodeURIComponent(name)}`),
          `${nodeId} ${where}: its own queues, by name, linked`,
        )
        if (own.length === 0) t.match(queues, 'This node reports no queues.')
        // waiting 0, 7, 14 in list order: only a third queue is over the backlog rule's 10
        t.same(
          [...queues.matchAll(/<a href="\/queues\/billing\/([^"]+)">[^<]*<\/a> <a class="q-marker q-alert"[^>]*>backlog firing<\/a>/g)].map((m) => decodeURIComponent(m[1]!)),
          own.length >= 3 ? [own[2]] : [],
          `${nodeId} ${where}: the alert firing on its queue`,
        )

        const slow = section(html, 'node-slow-title')
        const expected = slowNodes
          .map((node, i) => ({ node, name: `op-${node}-${i}` }))
          .filter((e) => e.node === nodeId)
          .reverse()
          .slice(0, NODE_ENTRIES)
          .map((e) => e.name)
        t.same(
          [...slow.matchAll(/<code>(op-[^<]+)<\/code>/g)].map((m) => m[1]),
          expected,
          `${nodeId} ${where}: its own latest slow entries, newest first, at most ${NODE_ENTRIES}`,
        )
        t.notMatch(slow, 'shop-op', 'not the same node id of another service')

        const alerts = section(html, 'node-alerts-title')
        if (nodeId === 'web-1' || nodeId === 'worker-1') t.match(alerts, /<code>cpu-high<\/code><\/a> CPU 97\.0 %/, `${nodeId} ${where}: its firing alert`)
        else t.match(alerts, 'No alert fires for this node.', `${nodeId} ${where}: none`)
      }
    }

    const shop = await app.inject('/pulse/shop/web-1')
    t.same(
      [...section(shop.body, 'node-queues-title').matchAll(/<a href="(\/queues\/[^"]+)">/g)].map((m) => m[1]),
      ['/queues/shop/orders'],
      'shop/web-1: the queue of its own service',
    )
    t.match(section(shop.body, 'node-slow-title'), 'shop-op')
    t.match(section(shop.body, 'node-alerts-title'), 'No alert fires for this node.')
  })
}
