/**
 * No alert storms: one rule changing state for many targets in one tick sends one grouped message
 * per channel, while the history keeps one event per target. The whole app on a real Redis, with
 * real HTTP receivers for a webhook and a Slack channel, and a fake clock.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { startReceiver, type Receiver } from './receiver.js'
import { WRITE_BATCH } from '../../server/alerts/runtime.js'
import { HISTORY_EVENTS } from '../../server/alerts/schemas.js'
import { alertsApi, dropBeats, rulesDir, tick, writeBeats, type BeatSpec } from './fixtures.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

t.beforeEach(async () => {
  await redis.flushall()
})

async function setup(t: { teardown(fn: () => unknown): void }, rules: object[]) {
  const hook = await startReceiver()
  const slack = await startReceiver()
  t.teardown(() => hook.close())
  t.teardown(() => slack.close())
  const channels = [
    { name: 'pager', type: 'webhook', url: hook.url('/hook') },
    { name: 'ops', type: 'slack', url: slack.url('/services/T0/B0/X') },
  ]
  const withChannels = rules.map((rule) => ({ ...rule, channels: ['pager', 'ops'] }))
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: files.write(`grouped-${Math.random()}.json`, { channels, rules: withChannels }) })
  t.teardown(() => app.close())
  return { hook, slack, clock, app }
}

/** ids padded so that the console's order (by service, then id) is the order they were made in */
const fleet = (count: number, service = 'api'): BeatSpec[] => Array.from({ length: count }, (_, i) => ({ service, nodeId: `n-${String(i).padStart(4, '0')}` }))
const bodies = (receiver: Receiver) => receiver.requests.map((request) => request.body)

t.test('500 nodes lost in one tick: one message per channel with the count and the first names; one for their return', async (t) => {
  const { hook, slack, clock, app } = await setup(t, [{ name: 'node-lost', metric: 'node_lost' }])
  const nodes = fleet(500)
  await writeBeats(redis, clock(), nodes)
  await tick(app)
  t.equal(hook.requests.length, 0)

  // a minute later every heartbeat key is gone: all 500 are dead in the same tick
  await dropBeats(redis, nodes)
  clock.advance(60_000)
  await tick(app)
  const firedAt = clock()
  t.equal(hook.requests.length, 1, 'one webhook request for 500 nodes')
  t.equal(slack.requests.length, 1, 'one Slack message for 500 nodes')
  const [fired] = bodies(hook)
  t.match(fired, { rule: 'node-lost', metric: 'node_lost', state: 'firing', repeat: false, count: 500, at: firedAt })
  t.equal(fired.targets.length, 100, 'the first 100 targets listed; count says how many in all')
  t.same(fired.targets[0], { target: 'api/n-0000', service: 'api', nodeId: 'n-0000', value: 1, firedAt })
  t.same(
    fired.targets.map((target: any) => target.target),
    nodes.slice(0, 100).map((node) => `api/${node.nodeId}`),
  )
  const firstTen = nodes
    .slice(0, 10)
    .map((node) => `api/${node.nodeId}`)
    .join(', ')
  t.equal(fired.summary, `[FIRING] node-lost for 500 nodes: ${firstTen} and 490 more (node is dead)`)
  t.notOk('target' in fired, 'the grouped shape, not the single one')
  t.equal(slack.requests[0]!.body.text, `[FIRING] node-lost for 500 nodes: ${firstTen} and 490 more (node is dead)`)
  t.equal(hook.requests[0]!.headers['idempotency-key'], fired.id)
  t.not(slack.requests[0]!.headers['idempotency-key'], fired.id, 'each channel has its own delivery id')

  // the alerts page still lists every target, and every event shows the grouped delivery
  await app.collector.refresh()
  const api = await alertsApi(app)
  t.equal(api.firing.length, 500)
  t.equal(api.history.length, 500)
  t.ok(api.history.every((event) => event.kind === 'firing' && event.message === 'queued'))
  t.ok(
    api.history.every(
      (event) =>
        event.deliveries
          .map((d: any) => `${d.channel} ${d.ok}`)
          .sort()
          .join() === 'ops true,pager true',
    ),
    'each of the 500 events shows both channels delivered',
  )

  // they all beat again: the resolution is one message per channel too
  clock.advance(2_000)
  await writeBeats(redis, clock(), nodes)
  await tick(app)
  t.equal(hook.requests.length, 2)
  t.equal(slack.requests.length, 2)
  const resolved = bodies(hook)[1]
  t.match(resolved, { rule: 'node-lost', state: 'resolved', count: 500, at: clock() })
  t.equal(resolved.targets[0].value, 0)
  t.equal(resolved.targets[0].firedAt, firedAt)
  t.not(resolved.id, fired.id, 'a new message, a new id')
  t.match(slack.requests[1]!.body.text, /^\[RESOLVED\] node-lost for 500 nodes: api\/n-0000, /)
  await app.collector.refresh()
  t.same((await alertsApi(app)).firing, [])
})

t.test('a group larger than one write batch is still one message, and the events the history keeps show it', async (t) => {
  const { hook, slack, clock, app } = await setup(t, [{ name: 'node-lost', metric: 'node_lost' }])
  const nodes = fleet(WRITE_BATCH * 2 + 200)
  await writeBeats(redis, clock(), nodes)
  await tick(app)
  await dropBeats(redis, nodes)
  clock.advance(60_000)
  await tick(app)
  t.equal(hook.requests.length, 1)
  t.equal(slack.requests.length, 1)
  t.equal(hook.requests[0]!.body.count, nodes.length)
  // the history stream is read at most 1,000 entries a tick: two ticks catch up with 1,200 events
  await app.collector.refresh()
  await app.collector.refresh()
  const api = await alertsApi(app)
  t.equal(api.firing.length, nodes.length)
  t.equal(api.history.length, HISTORY_EVENTS, 'the history keeps the newest events')
  t.same(api.history.map((event) => event.target).slice(-1), [`api/${nodes.at(-HISTORY_EVENTS)!.nodeId}`])
  t.ok(
    api.history.every(
      (event) =>
        event.deliveries
          .map((d: any) => d.channel)
          .sort()
          .join() === 'ops,pager',
    ),
    'the grouped delivery is recorded against every event the history shows',
  )
})

t.test('several rules changing in one tick: one message per rule, a single target in the single shape', async (t) => {
  const { hook, slack, clock, app } = await setup(t, [
    { name: 'cpu-high', metric: 'cpu', above: 90 },
    { name: 'memory-high', metric: 'memory', above: 90 },
    { name: 'node-lost', metric: 'node_lost' },
  ])
  const nodes = [...fleet(6, 'billing'), ...fleet(4, 'search')]
  await writeBeats(redis, clock(), nodes)
  await tick(app)
  // a minute later: billing n-0000..n-0002 hot, search n-0000 and n-0001 out of memory, billing n-0005
  // gone, the rest calm
  clock.advance(60_000)
  const hot = nodes.slice(0, 3).map((node) => ({ ...node, cpu: 99 }))
  const full = nodes.slice(6, 8).map((node) => ({ ...node, memory: 95 }))
  const calm = [...nodes.slice(3, 5), ...nodes.slice(8)]
  await writeBeats(redis, clock(), [...hot, ...full, ...calm])
  await dropBeats(redis, [nodes[5]!])
  await tick(app)

  const byRule = Object.fromEntries(bodies(hook).map((body) => [body.rule, body]))
  t.equal(hook.requests.length, 3, 'one request per rule')
  t.same(Object.keys(byRule).sort(), ['cpu-high', 'memory-high', 'node-lost'])
  t.match(byRule['cpu-high'], { count: 3, state: 'firing' })
  t.same(
    byRule['cpu-high'].targets.map((x: any) => [x.target, x.value]),
    [
      ['billing/n-0000', 99],
      ['billing/n-0001', 99],
      ['billing/n-0002', 99],
    ],
  )
  t.match(byRule['memory-high'], { count: 2 })
  t.same(
    byRule['memory-high'].targets.map((x: any) => x.target),
    ['search/n-0000', 'search/n-0001'],
  )
  t.equal(byRule['memory-high'].summary, '[FIRING] memory-high for 2 nodes: search/n-0000, search/n-0001 (memory above 90 %)')
  t.same(Object.keys(byRule['node-lost']).sort(), ['at', 'firedAt', 'id', 'metric', 'nodeId', 'op', 'repeat', 'rule', 'service', 'state', 'target', 'threshold', 'value'], 'one target: the single shape')
  t.match(byRule['node-lost'], { target: 'billing/n-0005', service: 'billing', nodeId: 'n-0005', value: 1, state: 'firing', repeat: false })
  t.same(slack.requests.map((request) => request.body.text).sort(), [
    '[FIRING] cpu-high for 3 nodes: billing/n-0000, billing/n-0001, billing/n-0002 (CPU above 90 %)',
    '[FIRING] memory-high for 2 nodes: search/n-0000, search/n-0001 (memory above 90 %)',
    '[FIRING] node-lost on billing/n-0005: node is dead (node is dead)',
  ])
  t.equal(new Set(bodies(hook).map((body) => body.id)).size, 3, 'every message has its own id')
})

t.test('one target alone gets exactly the single payload it always had, plus its id', async (t) => {
  const { hook, clock, app } = await setup(t, [{ name: 'cpu-high', metric: 'cpu', above: 90 }])
  await writeBeats(redis, clock(), [
    { service: 'billing', nodeId: 'web-1', cpu: 97 },
    { service: 'billing', nodeId: 'web-2', cpu: 40 },
  ])
  await tick(app)
  t.equal(hook.requests.length, 1)
  const body = hook.requests[0]!.body
  t.same(body, {
    id: body.id,
    rule: 'cpu-high',
    metric: 'cpu',
    target: 'billing/web-1',
    service: 'billing',
    nodeId: 'web-1',
    value: 97,
    threshold: 90,
    op: 'above',
    state: 'firing',
    repeat: false,
    firedAt: clock(),
    at: clock(),
  })
  t.match(body.id, /^\d+-\d+:pager$/)
  t.equal(hook.requests[0]!.headers['idempotency-key'], body.id)
})
