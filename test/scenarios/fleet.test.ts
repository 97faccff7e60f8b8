/**
 * A fleet that looks like production, on one real Redis, watched by the real console on a fake
 * clock: twelve BullMQ queues in every state plus a 4,200-job backlog (found with no agent),
 * Laravel queues written by Laravel's own scripts, SDK agents on three nodes of two services, a PHP
 * and a Python agent written from PROTOCOL.md alone, and a service whose nodes run hot (97 % CPU,
 * 94 % memory, 6 % free disk).
 *
 * First the console must show all of it exactly: every queue's counts as BullMQ, Laravel or the
 * agent count them, every node, every slow entry. Then the clock runs tick by tick for five
 * minutes: each sustained alert fires on the first tick past its `for` window and not before,
 * and on every tick the console stays ready, says Redis is up and has no part failing. In the
 * field (issue 9) this fleet raised no alert at all in 50 minutes.
 */
import t from 'tap'
import { startPulse } from '@gravito/quasar'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { rulesDir, tick } from '../alerts/fixtures.js'
import { startReceiver } from '../alerts/receiver.js'
import { laravelWriter, payload } from '../../sdk/test/queues/laravel-writer.js'
import { buildBullmqFleet, expectedCounts, queueSpecs, STATES, type QueueSpec } from './bullmq-fleet.js'
import { expectHealthyTick } from './console-health.js'
import { phpAgentBeat, pythonAgentBeat } from './agents/raw.js'

const { server: redisServer, redis: admin } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

const TICK_MS = 2_000
const none = Object.fromEntries(STATES.map((state) => [state, 0])) as QueueSpec['jobs']
const single = (name: string, jobs: Partial<QueueSpec['jobs']>): QueueSpec => ({ prefix: 'bull', name, jobs: { ...none, ...jobs }, childrenPerParent: 1, paused: false, order: [...STATES] })

/** the sustained alerts this fleet must raise, each on one target */
const RULES = [
  { name: 'disk-low', metric: 'disk', below: 10, for: '1m', forMs: 60_000, service: 'checkout', target: 'checkout/low-disk' },
  { name: 'cpu-high', metric: 'cpu', above: 90, for: '2m', forMs: 120_000, service: 'checkout', target: 'checkout/hot-cpu' },
  { name: 'memory-high', metric: 'memory', above: 90, for: '3m', forMs: 180_000, service: 'checkout', target: 'checkout/full-mem' },
  { name: 'queue-backlog', metric: 'queue_backlog', above: 1000, for: '4m', forMs: 240_000, target: 'bull/backlog' },
] as const

/** checkout's nodes, beating on the console's clock: three over a threshold, one calm */
async function beatCheckout(now: number): Promise<void> {
  const beats = [
    sampleHeartbeat({ timestamp: now, id: 'hot-cpu', service: 'checkout', cpu: { system: 97, process: 80, cores: 2 } }),
    sampleHeartbeat({ timestamp: now, id: 'full-mem', service: 'checkout', memory: { system: { total: 8e9, free: 0.48e9, used: 7.52e9 }, process: { rss: 4e9, heapTotal: 3e9, heapUsed: 2.9e9 } } }),
    sampleHeartbeat({ timestamp: now, id: 'low-disk', service: 'checkout', disk: { path: '/', total: 100e9, free: 6e9 } }),
    sampleHeartbeat({ timestamp: now, id: 'calm-1', service: 'checkout' }),
  ]
  const pipeline = admin.pipeline()
  for (const beat of beats) pipeline.set(`gravito:quasar:node:checkout:${beat.id}`, JSON.stringify(beat), 'EX', 30)
  await pipeline.exec()
}

t.test('a production-like fleet: exact counts, every node, alerts on time, never a false outage', async (t) => {
  await admin.flushall()
  const specs = queueSpecs(41, 12)
  const backlogSpec = single('backlog', { waiting: 4_200 })
  const invoicesSpec = single('invoices', { waiting: 3, prioritized: 1, delayed: 2, failed: 2, completed: 1 })
  const discoveredFleet = await buildBullmqFleet(redisServer.url, [...specs, backlogSpec], 41)
  t.teardown(() => discoveredFleet.close())
  const agentFleet = await buildBullmqFleet(redisServer.url, [invoicesSpec], 42)
  t.teardown(() => agentFleet.close())

  // Laravel queues as Laravel writes them: default prefix, and a connection prefix
  const nowSeconds = Date.now() / 1000
  const laravel = laravelWriter(admin)
  const prefixed = laravelWriter(admin, { prefix: 'laravel_database_' })
  for (let i = 0; i < 5; i++) await laravel.push('mail', payload('App\\Jobs\\SendReceipt', Date.now() - 60_000))
  for (let i = 0; i < 3; i++) await laravel.push('default', payload('App\\Jobs\\SyncStock', Date.now() - 5_000))
  for (let i = 0; i < 6; i++) await prefixed.push('notifications', payload('App\\Jobs\\Notify', Date.now()))
  await laravel.later('mail', nowSeconds + 600, payload('App\\Jobs\\SendReceipt', Date.now()))
  await laravel.later('mail', nowSeconds + 900, payload('App\\Jobs\\SendReceipt', Date.now()))
  await laravel.later('default', nowSeconds + 600, payload('App\\Jobs\\SyncStock', Date.now()))
  await laravel.pop('mail', nowSeconds + 90)
  await laravel.pop('default', nowSeconds + 90)
  await laravel.pop('default', nowSeconds + 90)
  await prefixed.pop('notifications', nowSeconds + 90)
  await admin.rpush('crawler:tasks', 'a', 'b', 'c')

  // SDK agents: billing's web-1 watches the invoices queue; every node records a slow request
  const agents = [
    startPulse({ service: 'billing', nodeId: 'web-1', url: redisServer.url, intervalMs: 500 }).monitorQueue('invoices', 'bullmq'),
    startPulse({ service: 'billing', nodeId: 'web-2', url: redisServer.url, intervalMs: 500 }),
    startPulse({ service: 'search', nodeId: 'idx-1', url: redisServer.url, intervalMs: 500 }),
  ]
  for (const agent of agents) {
    t.teardown(() => agent.stop())
    agent.recordSlow({ kind: 'request', name: `GET /sdk/${agent.nodeId}`, durationMs: 1_250 })
  }
  const port = String(redisServer.port)
  await phpAgentBeat({ REDIS_PORT: port, SERVICE: 'shop', NODE_ID: 'php-1', LARAVEL_QUEUES: 'mail' })
  await pythonAgentBeat({ REDIS_PORT: port, SERVICE: 'crawler', NODE_ID: 'py-1', QUEUE_LIST: 'crawler:tasks' })

  const hook = await startReceiver()
  t.teardown(() => hook.close())
  const alertsFile = files.write('fleet.json', {
    channels: [{ name: 'ops', type: 'webhook', url: hook.url('/hook') }],
    rules: RULES.map(({ forMs: _ms, target: _target, ...rule }) => ({ ...rule, channels: ['ops'] })),
  })
  // the first phase runs on the agents' (real) clock, so their beats read as fresh
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile })
  t.teardown(() => app.close())

  /** when the console first showed each alert's condition: its `for` window starts there */
  const since = new Map<string, number>()
  const observe = async () => {
    const services = ((await app.inject('/api/pulse/nodes?service=checkout')).json().services ?? []) as { nodes: Record<string, any>[] }[]
    const nodes = services.flatMap((s) => s.nodes)
    const queues = ((await app.inject('/api/pulse/queues')).json().queues ?? []) as Record<string, any>[]
    const holds: Record<string, boolean> = {
      'disk-low': nodes.some((n) => n.id === 'low-disk' && (n.disk.free / n.disk.total) * 100 < 10),
      'cpu-high': nodes.some((n) => n.id === 'hot-cpu' && n.cpu.system > 90),
      'memory-high': nodes.some((n) => n.id === 'full-mem' && (n.memory.system.used / n.memory.system.total) * 100 > 90),
      'queue-backlog': queues.some((q) => q.service === 'bull' && q.name === 'backlog' && q.waiting > 1000),
    }
    for (const [rule, held] of Object.entries(holds)) if (held && !since.has(rule)) since.set(rule, clock())
  }
  const step = async () => {
    await beatCheckout(clock())
    await tick(app)
    await observe()
  }

  const nodesShown = async (): Promise<Record<string, any>[]> => {
    const services = ((await app.inject('/api/pulse/nodes')).json().services ?? []) as { name: string; nodes: Record<string, any>[] }[]
    return services.flatMap((s) => s.nodes.map((n) => ({ ...n, service: s.name })))
  }
  const expectedNodes = ['billing/web-1', 'billing/web-2', 'checkout/calm-1', 'checkout/full-mem', 'checkout/hot-cpu', 'checkout/low-disk', 'crawler/py-1', 'search/idx-1', 'shop/php-1']
  const slowShown = async () => new Set((((await app.inject('/api/pulse/slow')).json().entries ?? []) as { name: string }[]).map((e) => e.name))
  await eventually(async () => {
    clock.set(Math.max(clock(), Date.now()))
    await step()
    const shown = (await nodesShown()).map((n) => `${n.service}/${n.id}`).sort()
    const slow = await slowShown()
    return expectedNodes.every((node) => shown.includes(node)) && agents.every((a) => slow.has(`GET /sdk/${a.nodeId}`))
  }, 'every agent beat and its slow entry reached the console')
  await expectHealthyTick(t, app, 'fleet in view')

  t.test('every node is listed, fresh, as its agent wrote it', async (t) => {
    const nodes = await nodesShown()
    t.same(nodes.map((n) => `${n.service}/${n.id}`).sort(), expectedNodes)
    t.ok(
      nodes.every((n) => n.health === 'fresh'),
      "all fresh on the agents' clock",
    )
    t.match(
      nodes.find((n) => n.id === 'php-1'),
      { language: 'php', runtime: { framework: 'laravel 11' } },
    )
    t.match(
      nodes.find((n) => n.id === 'py-1'),
      { language: 'python' },
    )
    t.match(
      nodes.find((n) => n.id === 'web-1'),
      { language: 'node' },
    )
  })

  t.test('every queue is counted as its own system counts it', async (t) => {
    const queues = ((await app.inject('/api/pulse/queues')).json().queues ?? []) as Record<string, any>[]
    const find = (service: string, name: string) => queues.find((q) => q.service === service && q.name === name)
    const countsOf = (q: Record<string, any> | undefined, fields: readonly string[]) => q && Object.fromEntries(fields.map((f) => [f, q[f]]))
    for (const [spec, queue] of discoveredFleet.queues) {
      const expected = await expectedCounts(queue)
      t.same(countsOf(find(spec.prefix, spec.name), Object.keys(expected)), expected, `discovered ${spec.prefix}/${spec.name} equals getJobCounts`)
    }
    const invoices = find('billing', 'invoices')
    const expectedInvoices = await expectedCounts(agentFleet.queues.get(invoicesSpec)!)
    t.same(countsOf(invoices, Object.keys(expectedInvoices)), expectedInvoices, "billing/invoices, counted by the SDK's agent, equals getJobCounts")
    t.match(invoices, { source: 'agent', nodeId: 'web-1' })
    t.notOk(find('bull', 'invoices'), 'a queue an agent reports is not listed again as discovered')
    // Laravel: pending list, reserved and delayed sets
    t.match(find('laravel', 'default'), { driver: 'laravel', source: 'discovered', waiting: 1, active: 2, delayed: 1 })
    t.match(find('laravel_database', 'notifications'), { driver: 'laravel', source: 'discovered', waiting: 5, active: 1, delayed: 0 })
    t.match(find('shop', 'mail'), { driver: 'laravel', source: 'agent', nodeId: 'php-1', waiting: 4, active: 1, delayed: 2 }, "the PHP agent's count of the Laravel queue it watches")
    t.notOk(find('laravel', 'mail'), 'shown once, as the agent reports it')
    t.match(find('crawler', 'tasks'), { driver: 'redis-list', source: 'agent', waiting: 3 })
    const expectedIds = [...[...discoveredFleet.queues.keys()].map((s) => `${s.prefix}/${s.name}`), 'billing/invoices', 'laravel/default', 'laravel_database/notifications', 'shop/mail', 'crawler/tasks']
    t.same(queues.map((q) => `${q.service}/${q.name}`).sort(), expectedIds.sort(), 'no queue missing, none invented')
  })

  t.test('slow entries of every kind of agent', async (t) => {
    const slow = await slowShown()
    for (const name of ['App\\Jobs\\SendInvoice', 'GET /search', 'GET /sdk/web-1', 'GET /sdk/web-2', 'GET /sdk/idx-1']) t.ok(slow.has(name), name)
  })

  t.test('five minutes, tick by tick: alerts fire on time; ready, Redis up, no part failing on every tick', async (t) => {
    t.same([...since.keys()].sort(), RULES.map((r) => r.name).sort(), 'every alert condition is shown')
    // a condition never shown still gets its window of ticks, so its silence is checked too
    const start = clock()
    const sinceOf = (rule: string) => since.get(rule) ?? start
    const fireAt = (rule: (typeof RULES)[number]) => sinceOf(rule.name) + rule.forMs
    const firedAt = new Map<string, number>()
    const messages = (rule: string) => hook.requests.filter((r) => JSON.stringify(r.body).includes(rule)).length
    const last = Math.max(...RULES.map(fireAt)) + 3 * TICK_MS
    let failures = 0
    while (clock() < last) {
      clock.advance(TICK_MS)
      await step()
      const now = clock()
      let passed = await expectHealthyTick(t, app, `at +${Math.round((now - start) / 1000)} s`)
      for (const rule of RULES) {
        if (now >= fireAt(rule) && !firedAt.has(rule.name)) firedAt.set(rule.name, now)
        const sent = firedAt.has(rule.name) ? 1 : 0
        passed = t.equal(messages(rule.name), sent, `${rule.name}: ${sent ? 'one message, sent' : 'no message yet'} at +${Math.round((now - sinceOf(rule.name)) / 1000)} s of ${rule.for}`) && passed
      }
      // three bad ticks say enough; a hundred identical failures would bury them
      if (!passed && ++failures >= 3) break
    }
    await app.collector.refresh()
    const firing = ((await app.inject('/api/pulse/alerts')).json().firing ?? []) as { rule: string; target: string; firedAt: number }[]
    t.same(firing.map((a) => `${a.rule} ${a.target} ${a.firedAt}`).sort(), RULES.map((r) => `${r.name} ${r.target} ${firedAt.get(r.name)}`).sort(), 'exactly these alerts fire, each on the first tick past its window')
    // discovered queues were re-read all along and still hold their counts
    const queues = ((await app.inject('/api/pulse/queues')).json().queues ?? []) as Record<string, any>[]
    for (const [spec, queue] of discoveredFleet.queues) {
      const expected = await expectedCounts(queue)
      const shown = queues.find((q) => q.service === spec.prefix && q.name === spec.name)
      t.same(shown && Object.fromEntries(Object.keys(expected).map((f) => [f, shown[f]])), expected, `after five minutes: ${spec.prefix}/${spec.name}`)
    }
  })
})
