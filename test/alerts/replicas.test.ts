import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { startReceiver } from './receiver.js'
import { alertsApi, rulesDir, tick, writeBeat } from './fixtures.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

t.beforeEach(async () => {
  await redis.flushall()
})

async function setup(t: { teardown(fn: () => unknown): void }, forWindow = '4s') {
  const hook = await startReceiver()
  t.teardown(() => hook.close())
  const alertsFile = files.write(`replicas-${forWindow}.json`, {
    channels: [{ name: 'ops', type: 'webhook', url: hook.url() }],
    rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, for: forWindow, cooldown: '30m', channels: ['ops'] }],
  })
  return { hook, alertsFile }
}

const states = (hook: Awaited<ReturnType<typeof startReceiver>>) => hook.requests.map((r) => r.body.state)

t.test('two consoles on one Redis, ticking at different moments, send one firing and one resolve message', async (t) => {
  const { hook, alertsFile } = await setup(t)
  const clockA = fakeClock()
  // the second replica's ticks fall 0.7 s after the first one's
  const clockB = fakeClock(clockA() + 700)
  const a = await buildTestApp({ redisUrl: redisServer.url, clock: clockA, alertsFile })
  const b = await buildTestApp({ redisUrl: redisServer.url, clock: clockB, alertsFile })
  t.teardown(() => a.close())
  t.teardown(() => b.close())

  for (let i = 0; i < 6; i++) {
    await writeBeat(redis, clockA(), 97)
    await tick(a)
    await tick(b)
    clockA.advance(2_000)
    clockB.advance(2_000)
  }
  t.same(states(hook), ['firing'], 'both engines fired; one message went out')
  for (let i = 0; i < 3; i++) {
    await writeBeat(redis, clockA(), 40)
    await tick(b)
    await tick(a)
    clockA.advance(2_000)
    clockB.advance(2_000)
  }
  t.same(states(hook), ['firing', 'resolved'], 'both engines resolved; one message went out')

  await a.collector.refresh()
  await b.collector.refresh()
  const [historyA, historyB] = [(await alertsApi(a)).history, (await alertsApi(b)).history]
  t.same(
    historyA.map((e) => e.kind),
    ['resolved', 'firing'],
    'each event recorded once',
  )
  t.same(historyA, historyB, 'both replicas show the same history')
  t.same((await alertsApi(a)).firing, [])
  t.same((await alertsApi(b)).firing, [])
})

t.test('two consoles evaluating at the same moment still send one message', async (t) => {
  const { hook, alertsFile } = await setup(t, '0s')
  const clock = fakeClock()
  const apps = await Promise.all([1, 2, 3].map(() => buildTestApp({ redisUrl: redisServer.url, clock, alertsFile })))
  t.teardown(() => Promise.all(apps.map((app) => app.close())))
  await writeBeat(redis, clock(), 99)
  await Promise.all(apps.map(tick))
  t.same(states(hook), ['firing'])
  await Promise.all(apps.map((app) => app.collector.refresh()))
  const firing = await Promise.all(apps.map(async (app) => (await alertsApi(app)).firing))
  t.equal(firing[0]!.length, 1)
  t.same(firing[1], firing[0])
  t.same(firing[2], firing[0])
  clock.advance(2_000)
  await writeBeat(redis, clock(), 10)
  await Promise.all(apps.map(tick))
  t.same(states(hook), ['firing', 'resolved'])
})

t.test('a console started later continues what another one fired: no second message, and it sends the resolve', async (t) => {
  const { hook, alertsFile } = await setup(t, '0s')
  const clock = fakeClock()
  const first = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile })
  await writeBeat(redis, clock(), 99)
  await tick(first)
  await first.close()
  t.same(states(hook), ['firing'])

  clock.advance(10_000)
  const second = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile })
  t.teardown(() => second.close())
  await writeBeat(redis, clock(), 99)
  await tick(second)
  await tick(second)
  t.same(states(hook), ['firing'], 'still firing: nothing sent again')
  await writeBeat(redis, clock(), 10)
  await tick(second)
  t.same(states(hook), ['firing', 'resolved'])
  t.equal(hook.requests[1]!.body.firedAt, hook.requests[0]!.body.firedAt, 'the resolve names the original firing')
})

t.test('the cool-down is shared: a replica that never sent anything still respects it', async (t) => {
  const { hook, alertsFile } = await setup(t, '0s')
  const clock = fakeClock()
  const a = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile })
  t.teardown(() => a.close())
  await writeBeat(redis, clock(), 99)
  await tick(a)
  clock.advance(2_000)
  await writeBeat(redis, clock(), 10)
  await tick(a)
  t.same(states(hook), ['firing', 'resolved'])

  // a fresh replica (no local cool-down) sees the CPU spike again ten minutes later
  const b = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile })
  t.teardown(() => b.close())
  clock.advance(10 * 60_000)
  await writeBeat(redis, clock(), 99)
  await tick(b)
  await b.collector.refresh()
  t.same(states(hook), ['firing', 'resolved'], 'no message within the 30 minute cool-down')
  const [latest] = (await alertsApi(b)).history
  t.match(latest, { kind: 'firing', message: 'cooldown' })
  t.match((await alertsApi(b)).firing, [{ rule: 'cpu-high', notified: false }])
})

t.test('an alert still firing when the cool-down ends is repeated once, by one replica', async (t) => {
  const { hook, alertsFile } = await setup(t, '0s')
  const clock = fakeClock()
  const a = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile })
  const b = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile })
  t.teardown(() => a.close())
  t.teardown(() => b.close())
  const both = async () => {
    await writeBeat(redis, clock(), 99)
    await Promise.all([tick(a), tick(b)])
  }
  await both()
  clock.advance(29 * 60_000)
  await both()
  t.same(states(hook), ['firing'], 'inside the 30 minute cool-down: no repeat')
  clock.advance(60_000)
  await both()
  clock.advance(2_000)
  await both()
  t.same(
    hook.requests.map((r) => [r.body.state, r.body.repeat]),
    [
      ['firing', false],
      ['firing', true],
    ],
  )
  t.equal(hook.requests[1]!.body.firedAt, hook.requests[0]!.body.firedAt)
  await a.collector.refresh()
  t.same(
    (await alertsApi(a)).history.map((e) => [e.kind, e.message]),
    [
      ['reminder', 'queued'],
      ['firing', 'queued'],
    ],
  )
})
