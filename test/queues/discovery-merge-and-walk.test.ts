/**
 * Zero-config discovery next to agents, against a real Redis: a queue an agent also reports shown
 * once, and only when it is the same queue; the walk bounded per tick and continued on the next.
 */
import t from 'tap'
import { Queue } from 'bullmq'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { createQueueScanner } from '../../server/queues/discovery.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { keys, laravelPayload, writeSnapshot } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const connection = { url: redisServer.url }

t.test('a queue an agent reports is shown once, as the agent reports it', async (t) => {
  await redis.flushall()
  const clock = fakeClock(Date.now())
  const reports = new Queue('reports', { connection })
  t.teardown(() => reports.close())
  await reports.add('build', { n: 1 })
  await writeSnapshot(redis, 'billing', { timestamp: clock(), nodeId: 'worker-1', sharedRedis: true, queues: [{ name: 'reports', prefix: 'bull', driver: 'bullmq', metrics: { waiting: 1 } }] })
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const queues = (await app.inject('/api/pulse/queues')).json().queues
  t.same(
    queues.map((q: any) => `${q.service}/${q.name}/${q.source}`),
    ['billing/reports/agent'],
  )
})

t.test('an agent queue of the same name hides a discovered one only when it is the same queue', async (t) => {
  await redis.flushall()
  const clock = fakeClock(Date.now())
  const reports = new Queue('reports', { connection })
  t.teardown(() => reports.close())
  await reports.add('build', { n: 1 })
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const shown = async () => ((await app.inject('/api/pulse/queues')).json().queues as any[]).map((q) => `${q.service}/${q.name}/${q.source}`).sort()
  const cases: [string, Record<string, unknown>, Record<string, unknown>, string[]][] = [
    ["same driver, prefix and name, in the console's Redis", { sharedRedis: true }, { prefix: 'bull' }, ['billing/reports/agent']],
    ['another prefix', { sharedRedis: true }, { prefix: '{bull}' }, ['billing/reports/agent', 'bull/reports/discovered']],
    ['no prefix reported (an older agent)', { sharedRedis: true }, {}, ['billing/reports/agent', 'bull/reports/discovered']],
    ['its queues live in another Redis', {}, { prefix: 'bull' }, ['billing/reports/agent', 'bull/reports/discovered']],
    ['another driver', { sharedRedis: true }, { prefix: 'bull', driver: 'redis-list' }, ['billing/reports/agent', 'bull/reports/discovered']],
  ]
  for (const [label, top, entry, expected] of cases) {
    await writeSnapshot(redis, 'billing', { timestamp: clock(), nodeId: 'worker-1', ...top, queues: [{ name: 'reports', driver: 'bullmq', metrics: { waiting: 1 }, ...entry }] })
    clock.advance(2_000)
    await app.collector.refresh()
    t.same(await shown(), expected, label)
  }
})

t.test('an agent service named like a discovered prefix does not hide its other queue', async (t) => {
  await redis.flushall()
  const clock = fakeClock(Date.now())
  const reports = new Queue('reports', { connection })
  t.teardown(() => reports.close())
  await reports.add('build', { n: 1 })
  // service `bull`, queue `reports`, from another Redis: the same service/name as the discovered queue
  await writeSnapshot(redis, 'bull', { timestamp: clock(), nodeId: 'worker-1', queues: [{ name: 'reports', prefix: 'bull', driver: 'bullmq', metrics: { waiting: 7 } }] })
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const queues = (await app.inject('/api/pulse/queues')).json().queues as any[]
  t.equal(queues.length, 2)
  t.match(
    queues.find((q) => q.source === 'agent'),
    { service: 'bull', name: 'reports', waiting: 7 },
  )
  t.match(
    queues.find((q) => q.source === 'discovered'),
    { service: /^bull-found-[0-9a-f]{8}$/, name: 'reports', waiting: 1 },
  )
})

t.test('the walk is bounded per tick and continues where it stopped', async (t) => {
  await redis.flushall()
  // 30,000 unrelated keys and one queue: with one SCAN step (COUNT 1000) per tick, a pass takes many ticks
  for (let start = 0; start < 30_000; start += 5_000) {
    const pipeline = redis.pipeline()
    for (let i = start; i < start + 5_000; i++) pipeline.set(`filler:${i}`, '1')
    await pipeline.exec()
  }
  await redis.rpush('queues:emails', laravelPayload('1', Date.now() / 1000))
  await writeSnapshot(redis, 'billing', { timestamp: Date.now(), queues: [] })
  const logged: string[] = []
  const scanner = createQueueScanner(redis, createConsoleKeys(keys.prefix), { report: (key) => logged.push(key) }, { stepsPerTick: 1, everyMs: 10_000 })
  // SCANs the server ran, whoever sent them: only the scanner sends any here
  const scans = async () => Number(/cmdstat_scan:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0)
  // every tick at the same time: once the pass is over, the next one is not due and a tick scans nothing
  const perTick: number[] = []
  for (let tick = 0; tick < 200; tick++) {
    const before = await scans()
    await scanner.step(0)
    const ran = (await scans()) - before
    if (ran === 0) break
    perTick.push(ran)
  }
  t.ok(
    perTick.every((ran) => ran <= 2),
    'at most one SCAN step per pattern in a tick',
  )
  t.ok(perTick.length > 5, `the pass over 30,000 keys took ${perTick.length} ticks, each going on from the last cursor`)
  t.same(scanner.refs(), [{ driver: 'laravel', prefix: '', queue: 'emails' }])
  t.same([...scanner.services()], ['billing'], 'protocol snapshot keys are services, not Laravel queues')
  t.same(logged, [])
})
