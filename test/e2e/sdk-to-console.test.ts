/**
 * The whole path: an app with the SDK beats into Redis, the console's collector reads it, the API
 * and the page show it.
 */
import t from 'tap'
import { startPulse } from '@gravito/quasar'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'

t.test('a node started with the SDK shows in the API and on the page', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const app = await buildTestApp({ redisUrl: redis.url })
  t.teardown(() => app.close())
  const agent = startPulse({ service: 'checkout', url: redis.url, nodeId: 'checkout-1', appVersion: '3.4.5', intervalMs: 60_000 })
  t.teardown(() => agent.stop())

  let node: Record<string, any> | undefined
  await eventually(async () => {
    await app.collector.refresh()
    const api = (await app.inject('/api/pulse/nodes')).json()
    node = api.services.find((s: { name: string }) => s.name === 'checkout')?.nodes[0]
    return node !== undefined
  }, 'the SDK node reaches the API')
  t.equal(node!.id, 'checkout-1')
  t.equal(node!.health, 'fresh')
  t.equal(node!.language, 'node')
  t.equal(node!.appVersion, '3.4.5')
  t.equal(node!.pid, process.pid)
  t.ok(node!.memory.process.rss > 0)
  t.ok(node!.disk.total > 0)

  // the event-loop histogram needs some samples first, so the field comes from the next beat on
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(await agent.beat(), true)
  await app.collector.refresh()
  const again = (await app.inject('/api/pulse/nodes')).json().services.find((s: { name: string }) => s.name === 'checkout').nodes[0]
  t.type(again.eventLoop?.lagMs, 'number')
  t.type(again.eventLoop?.p99Ms, 'number')

  const page = await app.inject('/pulse')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'checkout-1')
  t.match(page.body, '3.4.5')
})

t.test('a fresh console monitors itself as service "zenith"', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const app = await buildTestApp({ redisUrl: redis.url, selfMonitor: true })
  t.teardown(() => app.close())
  await eventually(async () => {
    await app.collector.refresh()
    const api = (await app.inject('/api/pulse/nodes')).json()
    return api.services.some((s: { name: string; nodes: { health: string }[] }) => s.name === 'zenith' && s.nodes[0]?.health === 'fresh')
  }, 'the console shows itself as one live node')
  t.pass('zenith is listed')
})
