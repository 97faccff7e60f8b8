/**
 * A Redis flush (or a restart without persistence) removes every heartbeat key at once. Nodes that
 * beat again within their interval must raise no node-lost alert; a node that really stopped must
 * still alert within 45 s of its last beat. Driven through the app with a fake clock.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { startReceiver } from './receiver.js'
import { alertsApi, rulesDir, tick } from './fixtures.js'
import { STYLES, writeBeat, type FleetNode } from '../nodes/fleet.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

const SERVICES = ['billing', 'older', 'php', 'mixed']

t.test('after a flush, 19 nodes that beat again raise no node-lost; the one that stopped alerts within 45 s', async (t) => {
  await redis.flushall()
  const hook = await startReceiver()
  t.teardown(() => hook.close())
  const rulesFile = files.write('lost.json', {
    channels: [{ name: 'hook', type: 'webhook', url: hook.url('/hook') }],
    rules: [{ name: 'node-lost', metric: 'node_lost', channels: ['hook'] }],
  })
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rulesFile })
  t.teardown(() => app.close())

  // 20 nodes in every index style, each beating every 10 s at its own phase within the interval
  const nodes = Array.from({ length: 20 }, (_, i): FleetNode & { phaseMs: number } => ({ service: SERVICES[i % 4]!, nodeId: `n-${i}`, style: STYLES[i % 4]!, phaseMs: (i % 5) * 2_000 }))
  const stopped = nodes[9]!
  const start = clock()
  const FLUSH_AT = 50_000
  let lastBeatOfStopped = 0
  for (let elapsed = 0; elapsed <= 120_000; elapsed += 2_000) {
    if (elapsed === FLUSH_AT) await redis.flushall()
    for (const node of nodes) {
      if (elapsed < node.phaseMs || (elapsed - node.phaseMs) % 10_000 !== 0) continue
      // the stopped node's last beat comes just before the flush
      if (node === stopped && elapsed >= FLUSH_AT) continue
      await writeBeat(redis, node, clock(), clock(), { runtime: { uptime: elapsed / 1000 } })
      if (node === stopped) lastBeatOfStopped = clock()
    }
    await tick(app)
    clock.advance(2_000)
  }

  const firings = hook.requests.map((request) => request.body).filter((body) => body.state === 'firing')
  t.same(
    firings.map((body) => body.target),
    [`${stopped.service}/${stopped.nodeId}`],
    'one node-lost message, for the node that stopped',
  )
  const firedAt = firings[0]?.at as number
  t.equal(lastBeatOfStopped, start + 48_000, 'its last beat was 2 s before the flush')
  t.ok(firedAt - lastBeatOfStopped > 30_000 && firedAt - lastBeatOfStopped <= 45_000, `it fired ${(firedAt - lastBeatOfStopped) / 1000} s after its last beat`)
  const api = await alertsApi(app)
  t.same(
    api.firing.map((alert) => alert.target),
    [`${stopped.service}/${stopped.nodeId}`],
    'nothing else is firing',
  )
  const nodesApi = (await app.inject('/api/pulse/nodes')).json() as { services: { nodes: { id: string; health: string }[] }[] }
  const health = new Map(nodesApi.services.flatMap((s) => s.nodes).map((n) => [n.id, n.health]))
  t.same(
    nodes.filter((n) => n !== stopped && health.get(n.nodeId) !== 'fresh').map((n) => n.nodeId),
    [],
    'the others are fresh again',
  )
  t.equal(health.get(stopped.nodeId), 'dead')
})
