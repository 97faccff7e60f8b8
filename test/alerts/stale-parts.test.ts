/**
 * Alert windows reset only for data that was actually missing. A real collector (with nodes and
 * queues parts the test can make fail), the real engine, store and dispatcher, a real Redis and a
 * real HTTP receiver; one tick every 10 s of a fake clock.
 */
import t from 'tap'
import pino from 'pino'
import { Collector } from '../../server/collector/collector.js'
import type { CollectorPart, NodeRecord } from '../../server/collector/snapshot.js'
import { createAlertEngine } from '../../server/alerts/engine.js'
import { createAlertStore } from '../../server/alerts/store.js'
import { createAlertRuntime } from '../../server/alerts/runtime.js'
import { createDispatcher } from '../../server/alerts/dispatcher.js'
import { parseAlertRules } from '../../server/alerts/rules.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { useRedis } from '../helpers/redis-server.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { startReceiver } from './receiver.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const TICK_MS = 10_000

const { redis } = await useRedis(t)
const keys = createConsoleKeys('gravito:quasar:')

t.beforeEach(async () => {
  await redis.flushall()
})

/** What the agents report; the parts read it on every tick unless told to fail. */
interface World {
  cpu: number
  waiting: number
  nodesFail: boolean
  queuesFail: boolean
  redisDown: boolean
}

async function setup(t: { teardown(fn: () => unknown): void }, rules: object[]) {
  const hook = await startReceiver()
  t.teardown(() => hook.close())
  const config = parseAlertRules(JSON.stringify({ channels: [{ name: 'ops', type: 'webhook', url: hook.url() }], rules }), 'rules.json')
  const world: World = { cpu: 97, waiting: 5_000, nodesFail: false, queuesFail: false, redisDown: false }
  let now = T0
  const log = pino({ level: 'silent' })
  const collector = new Collector({
    clock: () => now,
    log,
    tickMs: TICK_MS,
    probe: async () => {
      if (world.redisDown) throw new Error('connect ECONNREFUSED')
      return 'PONG'
    },
  })
  // the agent beats every tick: a fresh record, dated now, whenever the part reads
  const nodes = {
    key: 'nodes',
    initial: [],
    async collect(at: number): Promise<NodeRecord[]> {
      if (world.nodesFail) throw new TypeError('fields is not iterable')
      const heartbeat = sampleHeartbeat({ timestamp: at, id: 'web-1', service: 'billing', cpu: { system: world.cpu, process: 5, cores: 2 } })
      return [{ service: 'billing', nodeId: 'web-1', heartbeat, lastSeenAt: at, seenAt: at, goneAt: null, keyPresent: true }]
    },
  }
  const queues = {
    key: 'queues',
    initial: { items: [] },
    async collect() {
      if (world.queuesFail) throw new TypeError('(readOk ?? []).map is not a function')
      return { items: [{ service: 'billing', name: 'emails', driver: 'bullmq', waiting: world.waiting, failed: 0 }] }
    },
  }
  collector.addPart(nodes as unknown as CollectorPart)
  collector.addPart(queues as unknown as CollectorPart)

  const engine = createAlertEngine(config.rules)
  let report: Parameters<typeof createDispatcher>[0]['onResult'] = () => {}
  const dispatcher = createDispatcher({ onResult: (delivery, outcome) => report(delivery, outcome) })
  const runtime = createAlertRuntime({ config, engine, store: createAlertStore(redis, keys), dispatcher, clock: () => now, log })
  report = runtime.onDelivery
  collector.onSnapshot((snapshot) => runtime.onSnapshot(snapshot))
  t.teardown(() => runtime.close(1_000))

  /** one tick at the current time, its writes and messages done, then the clock moves on */
  async function tick(change: Partial<World> = {}) {
    Object.assign(world, change)
    const snapshot = await collector.refresh()
    await runtime.idle()
    now += TICK_MS
    return snapshot
  }
  /** the messages received so far, as `state rule @seconds-after-T0` */
  const messages = () => hook.requests.map((r) => `${r.body.state} ${r.body.rule} @${(r.body.at - T0) / 1_000}s`)
  const history = async () => (await redis.xrange(keys.alertsHistory(), '-', '+')).filter(([, f]) => f[0] === 'e').map(([, f]) => JSON.parse(f[1]!))
  return { tick, messages, history, engine, world }
}

const cpuRule = { name: 'cpu-high', metric: 'cpu', above: 90, for: '60s', channels: ['ops'] }
const backlogRule = { name: 'queue-backlog', metric: 'queue_backlog', above: 1000, for: '60s', channels: ['ops'] }

t.test('a node at 97 % CPU fires on time while the queues part fails every other tick', async (t) => {
  const { tick, messages, engine } = await setup(t, [cpuRule, backlogRule])
  for (let i = 0; i <= 9; i++) {
    const snapshot = await tick({ queuesFail: i % 2 === 1 })
    t.equal(snapshot.redis.up, true)
    t.equal(snapshot.parts.queues!.ok, i % 2 === 0)
  }
  t.same(messages(), ['firing cpu-high @60s'], 'the node rule counted every tick; the backlog never held a whole window')
  // the queues read again from 100 s on: the backlog's window starts then and fires 60 s later
  for (let i = 10; i <= 16; i++) await tick({ queuesFail: false })
  t.same(messages(), ['firing cpu-high @60s', 'firing queue-backlog @160s'])
  t.same(
    engine.firing().map((f) => [f.rule, (f.firedAt - T0) / 1_000]),
    [
      ['cpu-high', 60],
      ['queue-backlog', 160],
    ],
  )
})

t.test("a queues failure restarts the backlog's pending window; the node rule goes on", async (t) => {
  const { tick, messages } = await setup(t, [cpuRule, backlogRule])
  // 0–40 s: both held; 50 s: queues fail; 60 s: cpu fires on time, the backlog starts again
  for (let i = 0; i <= 4; i++) await tick()
  await tick({ queuesFail: true })
  await tick({ queuesFail: false })
  t.same(messages(), ['firing cpu-high @60s'])
  for (let i = 7; i <= 12; i++) await tick()
  t.same(messages(), ['firing cpu-high @60s', 'firing queue-backlog @120s'], 'the backlog window restarted at the first reading after the failure')
})

t.test("a nodes failure restarts the node rule's pending window; the backlog goes on", async (t) => {
  const { tick, messages } = await setup(t, [cpuRule, backlogRule])
  for (let i = 0; i <= 4; i++) await tick()
  await tick({ nodesFail: true })
  await tick({ nodesFail: false })
  for (let i = 7; i <= 12; i++) await tick()
  t.same(messages(), ['firing queue-backlog @60s', 'firing cpu-high @120s'])
})

t.test('while a part fails, its firing alerts hold: stale data neither resolves, forgets nor raises anything', async (t) => {
  const lost = { name: 'node-lost', metric: 'node_lost', channels: ['ops'] }
  const { tick, messages, history, engine } = await setup(t, [{ ...cpuRule, for: '0s' }, { ...backlogRule, for: '0s' }, lost])
  await tick()
  t.same(messages().sort(), ['firing cpu-high @0s', 'firing queue-backlog @0s'])

  // twelve minutes without a node reading: the snapshot keeps the 0 s record, which grows older
  // than "dead" (30 s) and than the engine's forget time (10 min); the queues read on and clear
  for (let i = 1; i <= 72; i++) {
    const snapshot = await tick({ nodesFail: true, waiting: i >= 30 ? 10 : 5_000 })
    if (i === 72) t.equal(snapshot.nodes[0]!.lastSeenAt, T0, 'the snapshot still shows the stale record')
  }
  t.same(messages().sort(), ['firing cpu-high @0s', 'firing queue-backlog @0s', 'resolved queue-backlog @300s'], 'no node-lost, no cpu resolve: only the part that read changed anything')
  t.same(
    engine.firing().map((f) => f.rule),
    ['cpu-high'],
  )
  t.notOk(
    (await history()).some((event) => event.kind === 'gone'),
    'nothing was forgotten as gone',
  )

  // the node reads again, calm: now the alert resolves, from fresh data
  await tick({ nodesFail: false, cpu: 40 })
  t.equal(messages().at(-1), 'resolved cpu-high @730s')
})

t.test('while Redis does not answer nothing is evaluated and every pending window restarts', async (t) => {
  const { tick, messages } = await setup(t, [cpuRule, backlogRule])
  for (let i = 0; i <= 4; i++) await tick()
  const down = await tick({ redisDown: true })
  t.equal(down.redis.up, false)
  await tick({ redisDown: false })
  for (let i = 7; i <= 12; i++) await tick()
  t.same(messages().sort(), ['firing cpu-high @120s', 'firing queue-backlog @120s'])
})
