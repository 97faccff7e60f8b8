import t from 'tap'
import Fastify from 'fastify'
import zenith from '../../server/app.js'
import { parseConfig } from '../../server/config.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { startReceiver } from './receiver.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { alertsApi, rulesDir, tick, writeBeat } from './fixtures.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

t.beforeEach(async () => {
  await redis.flushall()
})

t.test('an alert fires after its window, reaches both channels in their shapes, shows everywhere, and resolves', async (t) => {
  const hook = await startReceiver()
  const slack = await startReceiver()
  t.teardown(() => hook.close())
  t.teardown(() => slack.close())
  const rulesFile = files.write('e2e.json', {
    channels: [
      { name: 'ops-hook', type: 'webhook', url: hook.url('/hook/SECRET-TOKEN') },
      { name: 'ops-slack', type: 'slack', url: slack.url('/services/T0/B0/SLACKSECRET') },
    ],
    rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, for: '4s', channels: ['ops-hook', 'ops-slack'] }],
  })
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rulesFile })
  t.teardown(() => app.close())
  const start = clock()

  for (let i = 0; i < 2; i++) {
    await writeBeat(redis, clock(), 97)
    await tick(app)
    clock.advance(2_000)
  }
  t.equal(hook.requests.length, 0, 'held for 2 s of a 4 s window: nothing yet')
  await writeBeat(redis, clock(), 97)
  await tick(app)
  t.equal(hook.requests.length, 1)
  t.equal(slack.requests.length, 1)
  t.match(hook.requests[0]!.body, { rule: 'cpu-high', metric: 'cpu', target: 'billing/web-1', value: 97, threshold: 90, state: 'firing', at: start + 4_000 })
  t.match(slack.requests[0]!.body, { text: '[FIRING] cpu-high on billing/web-1: CPU 97.0 % (CPU above 90 %)', blocks: [{ type: 'section' }, { type: 'context' }] })

  await app.collector.refresh()
  const api = await alertsApi(app)
  t.equal(api.firing.length, 1)
  t.match(api.firing[0], { rule: 'cpu-high', target: 'billing/web-1', service: 'billing', nodeId: 'web-1', value: 97, firedAt: start + 4_000, notified: true })
  t.equal(api.history.length, 1)
  t.match(api.history[0], { kind: 'firing', message: 'queued', channels: ['ops-hook', 'ops-slack'] })
  t.same(api.history[0]!.deliveries.map((d: any) => [d.channel, d.ok, d.attempts]).sort(), [
    ['ops-hook', true, 1],
    ['ops-slack', true, 1],
  ])

  t.same(
    app.alerts.firingForNode('billing', 'web-1').map((a) => [a.rule, a.value, a.condition]),
    [['cpu-high', 'CPU 97.0 %', 'CPU above 90 %']],
  )
  t.same(app.alerts.firingForNode('billing', 'web-2'), [])
  // cards show whole minutes, so a card holding a firing alert keeps its markup between ticks
  t.equal(app.alerts.firingForNode('billing', 'web-1')[0]!.firingFor, '<1m')

  const page = await app.inject({ url: '/alerts' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<title>Alerts · Zenith<\/title>/)
  t.match(page.body, /id="alerts-board"[^>]*hx-get="\/alerts\/fragments\/board"/)
  t.match(page.body, /cpu-high/)
  const fragment = await app.inject({ url: '/alerts/fragments/board' })
  t.equal(fragment.statusCode, 200)
  t.match(fragment.body, /billing\/web-1/)
  t.match(fragment.body, /CPU 97\.0 %/)
  t.match(fragment.body, /delivery-delivered/)
  t.match(fragment.body, /ops-hook: delivered/)
  for (const body of [page.body, fragment.body, JSON.stringify(api)]) {
    t.notMatch(body, /SECRET|SLACKSECRET|\/hook\//, 'no channel URL beyond scheme and host')
  }
  t.match(page.body, new RegExp(`http://127\\.0\\.0\\.1:\\d+/…`), 'masked URL in the channel list')
  const unchanged = await app.inject({ url: '/alerts/fragments/board', headers: { 'if-none-match': fragment.headers.etag as string } })
  t.equal(unchanged.statusCode, 304)

  // hovering between 85 and 90 keeps it firing with no new message
  clock.advance(2_000)
  await writeBeat(redis, clock(), 88)
  await tick(app)
  t.equal(hook.requests.length, 1)
  // under the clear line: resolved, announced once on each channel
  clock.advance(2_000)
  await writeBeat(redis, clock(), 60)
  await tick(app)
  t.equal(hook.requests.length, 2)
  t.match(hook.requests[1]!.body, { state: 'resolved', value: 60, firedAt: start + 4_000, at: start + 8_000 })
  t.match(slack.requests[1]!.body.text, /^\[RESOLVED\] cpu-high on billing\/web-1: CPU 60\.0 %/)
  await app.collector.refresh()
  const after = await alertsApi(app)
  t.same(after.firing, [])
  t.same(
    after.history.map((e) => e.kind),
    ['resolved', 'firing'],
    'newest first',
  )
  t.same(app.alerts.firingForNode('billing', 'web-1'), [])
})

t.test('without a rules file the defaults apply: shown in the console, sent nowhere', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  t.equal(app.alerts.config.file, null)
  // a node that stops beating: dead after 30 s, and node-lost fires at once
  await writeBeat(redis, clock(), 20, 'billing', 'web-9')
  await tick(app)
  clock.advance(31_000)
  await tick(app)
  await app.collector.refresh()
  const api = await alertsApi(app)
  t.match(api.firing, [{ rule: 'node-lost', target: 'billing/web-9', notified: false, channels: [] }])
  t.match(api.history, [{ kind: 'firing', rule: 'node-lost', message: 'none' }])
  const fragment = await app.inject({ url: '/alerts/fragments/board' })
  t.match(fragment.body, /no message/)
  t.match(fragment.body, /node-lost/)
})

t.test('a receiver answering 500 is retried, then the event is marked undelivered', async (t) => {
  const hook = await startReceiver(() => 500)
  t.teardown(() => hook.close())
  const rulesFile = files.write('failing.json', {
    channels: [{ name: 'broken', type: 'webhook', url: hook.url() }],
    rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, channels: ['broken'] }],
  })
  const clock = fakeClock()
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rulesFile, logLines })
  t.teardown(() => app.close())
  await writeBeat(redis, clock(), 99)
  await tick(app)
  t.equal(hook.requests.length, 4, 'one try and three retries')
  await app.collector.refresh()
  const [event] = (await alertsApi(app)).history
  t.match(event, { kind: 'firing', message: 'queued', deliveries: [{ channel: 'broken', ok: false, attempts: 4, error: 'HTTP 500' }] })
  const fragment = await app.inject({ url: '/alerts/fragments/board' })
  t.match(fragment.body, /delivery-failed/)
  t.match(fragment.body, /broken: failed \(4 tries\)/)
  const warning = logLines.map((line) => JSON.parse(line)).find((line) => line.msg === 'alert message not delivered')
  t.match(warning, { channel: 'broken', attempts: 4, error: 'HTTP 500' })
  t.match(warning.url, /^http:\/\/127\.0\.0\.1:\d+\/…$/, 'the log shows the URL masked')
  t.notMatch(logLines.join('\n'), /\/hook/, 'the URL path is in no log line')
})

t.test('a receiver that never answers does not stall the collector', async (t) => {
  const hook = await startReceiver(() => 'hang')
  t.teardown(() => hook.close())
  const rulesFile = files.write('hanging.json', {
    channels: [{ name: 'stuck', type: 'webhook', url: hook.url() }],
    rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, cooldown: '1m', channels: ['stuck'] }],
  })
  // every time here is the fake clock's: the cool-down ends when the test says, not when a slow
  // machine has spent a second of wall-clock time on the ticks
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rulesFile })
  t.teardown(() => app.close())
  await writeBeat(redis, clock(), 99)
  await app.collector.refresh()
  await hook.received(1)
  const version = app.collector.snapshot.version
  // twenty ticks, 2 s apart: 40 s, within the cool-down; none waits for the hanging delivery
  for (let i = 0; i < 20; i++) {
    clock.advance(2_000)
    await writeBeat(redis, clock(), 99)
    await app.collector.refresh()
  }
  t.equal(app.collector.snapshot.version, version + 20, 'twenty more ticks complete')
  t.ok(app.collector.snapshot.redis.up)
  t.equal(hook.requests.length, 1, 'the receiver has still not answered its only request')
  const [event] = (await alertsApi(app)).history
  t.match(event, { kind: 'firing', message: 'queued', deliveries: [] }, 'still sending')
  const fragment = await app.inject({ url: '/alerts/fragments/board' })
  t.match(fragment.body, /stuck: sending/)

  // past the cool-down the repeat goes out beside the hanging first message, on its own worker
  clock.advance(20_000)
  await writeBeat(redis, clock(), 99)
  await app.collector.refresh()
  await hook.received(2)
  t.equal(hook.requests[1]!.body.repeat, true)
})

t.test('a bad rules file stops the start with one clear line', async (t) => {
  const rulesFile = files.write('bad.json', { channels: [{ name: 'x', type: 'webhook', url: 'http://hooks.example.com/a' }], rules: [] })
  // built by hand rather than with buildTestApp, to close what opened before the failure
  const app = Fastify({ logger: false })
  const config = { ...parseConfig({ selfMonitor: false, alertsFile: rulesFile }), redisUrl: redisServer.url }
  await t.rejects(
    async () => {
      await app.register(zenith, { config, clock: () => Date.now(), autoStart: false }).ready()
    },
    {
      message: /^alerts file .*bad\.json: channels\[0\] \(x\)\.url: must use https/,
    },
  )
  await app.close()
})

t.test('bad query input is refused with 400', async (t) => {
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  for (const url of ['/alerts?service=a:b', '/alerts/fragments/board?service=%7Bx%7D', '/api/pulse/alerts?service=' + 'x'.repeat(65)]) {
    const response = await app.inject({ url })
    t.equal(response.statusCode, 400, url)
    // JSON under /api/, HTML for a page or fragment (test/web/validation.test.ts covers the shapes)
    if (url.startsWith('/api/')) t.match(response.json().message, /^invalid service: /)
    else t.match(response.body, /role="alert">invalid service: /)
  }
  t.equal((await app.inject({ url: '/api/pulse/alerts?service=' })).statusCode, 200, 'empty means all services')
})

t.test('the service filter narrows the page and the API', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: files.write('filter.json', { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90 }] }) })
  t.teardown(() => app.close())
  await writeBeat(redis, clock(), 95, 'billing', 'web-1')
  await writeBeat(redis, clock(), 95, 'search', 'idx-1')
  await tick(app)
  await app.collector.refresh()
  t.same((await alertsApi(app)).firing.map((a) => a.target).sort(), ['billing/web-1', 'search/idx-1'])
  const filtered = (await app.inject({ url: '/api/pulse/alerts?service=search' })).json()
  t.same(
    filtered.firing.map((a: any) => a.target),
    ['search/idx-1'],
  )
  t.same(
    filtered.history.map((e: any) => e.service),
    ['search'],
  )
  const page = await app.inject({ url: '/alerts?service=search' })
  t.match(page.body, /idx-1/)
  t.notMatch(page.body, /billing\/web-1/)
})

t.test('a shutdown during a mass alert event ends at its deadline and writes nothing after', async (t) => {
  const rulesFile = files.write('mass.json', { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90 }] })
  const clock = fakeClock()
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rulesFile, logLines, alertsDrainMs: 1 })
  const NODES = 2_000
  const pipeline = redis.pipeline()
  for (let i = 0; i < NODES; i++) {
    pipeline.set(`gravito:quasar:node:fleet:n-${i}`, JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: `n-${i}`, service: 'fleet', cpu: { system: 99, process: 5, cores: 2 } })), 'EX', 30)
    pipeline.zadd('gravito:quasar:index:nodes', clock(), `fleet:n-${i}`)
  }
  await pipeline.exec()
  // one tick evaluates 2,000 firing alerts at once; their writes run one by one in the background
  await app.collector.refresh()
  await app.close()

  const written = await redis.hlen('gravito:quasar:alerts:{alerts}:firing')
  const logs = logLines.map((line) => JSON.parse(line))
  const left = logs.filter((line) => line.msg.startsWith('console closing: alert transitions left unwritten'))
  t.equal(left.length, 1, 'one line says what was left')
  t.ok(written < NODES, `the shutdown did not wait for all ${NODES} writes (${written} written)`)
  t.equal(written + left[0]?.unwritten, NODES, 'every alert is either written or counted as left')
  t.same(
    logs.filter((line) => line.level >= 50),
    [],
    'no write failed against the closing connection',
  )
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(await redis.hlen('gravito:quasar:alerts:{alerts}:firing'), written, 'nothing was written after close')
})

t.test('a shutdown with a short backlog writes all of it first', async (t) => {
  const rulesFile = files.write('few.json', { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90 }] })
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rulesFile })
  for (let i = 0; i < 20; i++) await writeBeat(redis, clock(), 99, 'fleet', `n-${i}`)
  await app.collector.refresh()
  await app.close()
  t.equal(await redis.hlen('gravito:quasar:alerts:{alerts}:firing'), 20)
})
