/**
 * The history recorder writing to a real Redis, driven by a fake clock through hours and days of
 * beats: bounded raw samples, exact rollups, retention, replicas that never double count, and no
 * writes while Redis is down.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { startRedis, useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { beat, cpuOf, DAY, historyApi, HOUR, MINUTE, SECOND, storedBuckets } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)

t.beforeEach(async () => {
  await redis.flushall()
})

t.test('two hours of beats: raw samples bounded to about an hour, exact 1 min and 10 min rollups', async (t) => {
  const clock = fakeClock()
  const start = clock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())

  const steps = 2 * 360
  for (let i = 0; i < steps; i++) {
    await beat(redis, clock(), { cpu: cpuOf(i), lag: 1 + (i % 2) })
    await app.collector.refresh()
    clock.advance(10 * SECOND)
  }
  const lastBucket = start + (steps - 1) * 10 * SECOND

  const raw = await storedBuckets(redis, 'node', 'billing', 'node-1', 'raw')
  const oldest = [...raw.keys()][0]!
  t.ok(oldest <= lastBucket - HOUR, 'at least the last hour of raw samples is kept')
  t.ok(oldest >= lastBucket - HOUR - 20 * MINUTE, 'samples older than the retention plus one chunk are deleted')
  t.ok(raw.size < steps, `raw samples are trimmed (${raw.size} of ${steps} kept)`)
  const lastLag = 1 + ((steps - 1) % 2)
  t.equal(raw.get(lastBucket), `${cpuOf(steps - 1) * 10},100,625,143,${lastLag * 100}`, 'a raw sample is scaled integers: cpu ‰, memory ‰, RSS MiB, lag 1/100 ms')

  const hour = await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=1h')
  t.equal(hour.status, 200)
  t.equal(hour.body.bucketMs, 10 * SECOND)
  t.equal(hour.body.points.length, 360, 'one point per 10 s over the last hour')
  t.same(Object.keys(hour.body.points[0]!).sort(), ['cpuProcess', 'cpuSystem', 'lagMs', 'memoryUsedPct', 'rss', 't'])
  for (const point of hour.body.points) {
    const i = (point.t - start) / (10 * SECOND)
    if (point.cpuSystem !== cpuOf(i)) t.fail(`raw point ${i} has cpu ${point.cpuSystem}, not ${cpuOf(i)}`)
  }
  const last = hour.body.points.at(-1)!
  t.equal(last.t, lastBucket)
  t.equal(last.memoryUsedPct, 62.5)
  t.equal(last.rss, 143 * 1024 * 1024, 'RSS is kept to the MiB')
  t.equal(last.lagMs, lastLag)

  const sixHours = await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=6h')
  t.equal(sixHours.body.bucketMs, MINUTE)
  t.equal(sixHours.body.points.length, 120, 'one rollup per minute of the two hours')
  for (const point of sixHours.body.points) {
    const minute = (point.t - start) / MINUTE
    const base = minute % 50
    if (point.cpuSystem !== base + 2.5 || point.max.cpuSystem !== base + 5 || point.lagMs !== 1.5 || point.max.lagMs !== 2) {
      t.fail(`minute ${minute}: avg ${point.cpuSystem} max ${point.max.cpuSystem} lag ${point.lagMs}/${point.max.lagMs}`)
    }
  }

  const week = await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=7d')
  t.equal(week.body.bucketMs, 10 * MINUTE)
  t.equal(week.body.points.length, 12, 'one rollup per 10 minutes')
  // minutes 0..9 of the first bucket: averages of (m % 50) + 2.5
  t.equal(week.body.points[0]!.cpuSystem, 4.5 + 2.5)
  t.equal(week.body.points[0]!.max.cpuSystem, 9 + 5)
  const stored = await storedBuckets(redis, 'node', 'billing', 'node-1', '10m')
  t.match([...stored.values()][0], /^59,60,/, 'a 10 min rollup counted its 60 samples once each')
})

t.test('a week and a day of beats every 10 minutes: 10 min rollups keep 7 days, the others less', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())

  const steps = 8 * 144
  for (let i = 0; i < steps; i++) {
    await beat(redis, clock(), { cpu: i % 100 })
    await app.collector.refresh()
    clock.advance(10 * MINUTE)
  }
  const lastBucket = clock() - 10 * MINUTE

  const tenMinutes = [...(await storedBuckets(redis, 'node', 'billing', 'node-1', '10m')).keys()]
  t.ok(tenMinutes[0]! <= lastBucket - 7 * DAY + 10 * MINUTE, 'seven days of 10 min rollups are kept')
  t.ok(tenMinutes[0]! >= lastBucket - 7 * DAY - 20 * HOUR, 'older 10 min rollups are deleted')
  const minutes = [...(await storedBuckets(redis, 'node', 'billing', 'node-1', '1m')).keys()]
  t.ok(minutes[0]! <= lastBucket - DAY + 10 * MINUTE && minutes[0]! >= lastBucket - DAY - 2 * HOUR, '1 min rollups cover about a day')
  const raw = await storedBuckets(redis, 'node', 'billing', 'node-1', 'raw')
  t.ok(raw.size <= 8, `raw samples cover at most 1 h 20 min (${raw.size} kept)`)

  const week = await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=7d')
  t.equal(week.body.points.length, 7 * 144, 'the 7 d range has one point per 10 minutes')
  t.ok(
    week.body.points.every((p) => p.t > clock() - 7 * DAY - 10 * MINUTE),
    'and nothing older',
  )
  t.equal(week.body.points.at(-1)!.cpuSystem, (steps - 1) % 100)

  const historyKeys = await redis.keys('gravito:quasar:hist:*')
  for (const key of historyKeys) {
    const ttl = await redis.pttl(key)
    if (ttl <= 0 || ttl > 7 * DAY + 20 * HOUR) t.fail(`${key} has TTL ${ttl}`)
  }
  t.ok(historyKeys.length <= 9 + 14 + 5, `a node's history is a bounded set of chunk keys (${historyKeys.length})`)
})

t.test('two console replicas on one Redis record each sample once', async (t) => {
  const clock = fakeClock()
  const start = clock()
  const first = await buildTestApp({ redisUrl: redisServer.url, clock })
  const second = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => Promise.all([first.close(), second.close()]))

  const minutes = 3
  for (let i = 0; i < minutes * 6; i++) {
    await beat(redis, clock(), { cpu: cpuOf(i) })
    // either replica may tick first, and both tick twice per beat, as 2 s ticks under 10 s beats do
    const order = i % 2 === 0 ? [first, second, first, second] : [second, first, second, first]
    for (const app of order) await app.collector.refresh()
    clock.advance(10 * SECOND)
  }

  const rollups = await storedBuckets(redis, 'node', 'billing', 'node-1', '1m')
  t.equal(rollups.size, minutes)
  for (const value of rollups.values()) t.match(value, /^5,6,/, 'six samples per minute, not twelve')
  for (const app of [first, second]) {
    const { body } = await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=6h')
    t.same(
      body.points.map((p) => p.cpuSystem),
      [2.5, 3.5, 4.5],
      'both replicas read the same exact averages',
    )
  }
  t.equal(first.history.stats.written + second.history.stats.written, 1, 'the last sample was new for one replica only')
  const raw = await storedBuckets(redis, 'node', 'billing', 'node-1', 'raw')
  t.equal(raw.size, minutes * 6)
  t.equal(raw.get(start), '0,100,625,143,150')
})

t.test('nothing is written while Redis is down, and recording resumes after', async (t) => {
  const local = await startRedis()
  t.teardown(() => local.stop())
  const direct = new Redis(local.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
  direct.on('error', () => {})
  t.teardown(() => direct.disconnect())
  const clock = fakeClock()
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: local.url, clock, logLines })
  t.teardown(() => app.close())

  await beat(direct, clock(), { cpu: 10 })
  await app.collector.refresh()
  t.equal(app.history.stats.written, 1)
  const before = { ...app.history.stats }

  await local.kill()
  clock.advance(10 * SECOND)
  const down = await app.collector.refresh()
  t.equal(down.redis.up, false)
  clock.advance(10 * SECOND)
  await app.collector.refresh()
  t.same(app.history.stats, before, 'no write was attempted')
  t.notOk(
    logLines.some((line) => line.includes('history write failed')),
    'no failed write was logged',
  )
  t.notOk(
    logLines.some((line) => line.includes('snapshot listener failed')),
    'nothing was thrown into the collector',
  )
  t.equal(app.history.recent('billing', 'node-1').length, 1, 'the sparkline keeps what it had')

  await local.restart()
  await eventually(async () => direct.status === 'ready', 'direct connection back')
  clock.advance(10 * SECOND)
  await beat(direct, clock(), { cpu: 30 })
  await eventually(async () => (await app.collector.refresh()).redis.up, 'collector reads Redis again')
  const raw = await storedBuckets(direct, 'node', 'billing', 'node-1', 'raw')
  t.same([...raw.values()], ['300,100,625,143,150'], 'the first beat after the outage is recorded')
})
