/**
 * Queues reported by agents when things go wrong, against a real Redis: bad data skipped and logged
 * once without costing the other keys their tick, and the last queues kept listed, with the
 * banner, while Redis is gone.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { MAX_VALUE_BYTES } from '@gravito/quasar/protocol'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { keys, writeSnapshot } from './helpers.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())
const redis = new Redis(redisServer.url)
// one test kills the server: this client's reconnect errors are expected, not worth a stderr line
redis.on('error', () => {})
t.teardown(() => redis.quit())

t.beforeEach(async () => {
  await redis.flushall()
})

t.test('bad data is skipped and logged once; the other keys keep their tick', async (t) => {
  const logLines: string[] = []
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines })
  t.teardown(() => app.close())
  await writeSnapshot(redis, 'good', { timestamp: clock(), queues: [{ name: 'ok', driver: 'bullmq', metrics: { waiting: 1 } }] })
  await redis.set(keys.queues('broken'), '{"timestamp": 1, "queues": [', 'EX', 30)
  await redis.hset(keys.queues('squatter'), 'timestamp', '1')
  await redis.set(keys.queues('huge'), JSON.stringify({ timestamp: clock(), queues: [], pad: 'x'.repeat(MAX_VALUE_BYTES) }), 'EX', 30)
  await redis.set(keys.queues('deep'), `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'EX', 30)
  await redis.set(keys.queues('shapeless'), JSON.stringify({ queues: 'none' }), 'EX', 30)
  await writeSnapshot(redis, 'partial', {
    timestamp: clock(),
    queues: [
      { name: 'fine', driver: 'laravel', metrics: { waiting: 2 } },
      { name: 'bad\nname', driver: 'laravel', metrics: { waiting: 2 } },
      { name: 'negative', driver: 'laravel', metrics: { waiting: -1 } },
      { name: 'kafka', driver: 'kafka', metrics: { waiting: 1 } },
      { name: 'nan', driver: 'bullmq', metrics: { waiting: 'NaN' } },
      { name: '__proto__', driver: 'bullmq', metrics: { waiting: 1 }, failedJobs: [{ id: 'x', data: 'y'.repeat(10_000) }] },
    ],
  })
  await redis.set(`${keys.prefix}queues:bad*name`, JSON.stringify({ timestamp: clock(), queues: [] }), 'EX', 30)
  await app.collector.refresh()

  t.ok(app.collector.snapshot.redis.up, 'the tick succeeded')
  const api = (await app.inject('/api/pulse/queues')).json()
  // entries without a usable name or driver are dropped alone; a bad count or a long text costs
  // only that field (see test/queues/tolerance.test.ts)
  t.same(
    api.queues.map((q: any) => `${q.service}/${q.name}`),
    ['good/ok', 'partial/__proto__', 'partial/fine', 'partial/nan', 'partial/negative'],
  )
  const warned = logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'skipped bad agent data')
  for (const service of ['broken', 'squatter', 'huge', 'deep', 'shapeless', 'partial', 'bad*name']) {
    t.ok(
      warned.some((line) => line.key.includes(`queues:${service}`)),
      `${service} logged`,
    )
  }
  t.match(
    warned.find((line) => line.key.includes('queues:huge')),
    { reason: /over 65536/ },
  )
  t.match(
    warned.find((line) => line.key.includes('queues:squatter')),
    { reason: /WRONGTYPE/ },
  )
  t.match(
    warned.find((line) => line.key.includes('queues:partial')),
    { reason: /^queues\[1\]\.name: must not contain control characters: entry dropped$/ },
  )

  const before = warned.length
  clock.advance(2_000)
  await app.collector.refresh()
  clock.advance(10_000)
  await app.collector.refresh()
  const after = logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'skipped bad agent data').length
  t.equal(after, before, 'the same bad keys are not logged again on every tick')
  t.same((await app.inject('/api/pulse/queues')).json().queues.length, 5, 'still the good ones and the partly good')

  // the oversized value shrinks to a good one: read again
  await writeSnapshot(redis, 'huge', { timestamp: clock(), queues: [{ name: 'now-small', driver: 'bullmq', metrics: { waiting: 0 } }] })
  await app.collector.refresh() // STRLEN sees it small
  await app.collector.refresh() // GET reads it
  t.ok((await app.inject('/api/pulse/queues')).json().queues.some((q: any) => q.name === 'now-small'))
})

t.test('Redis gone: the last queues stay listed, with the banner; back again: read again', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await writeSnapshot(redis, 'billing', { timestamp: clock(), queues: [{ name: 'emails', driver: 'bullmq', metrics: { waiting: 3 } }] })
  await app.collector.refresh()
  await redisServer.kill()
  clock.advance(10_000)
  await app.collector.refresh()
  t.equal(app.collector.snapshot.redis.up, false)
  t.same(
    (await app.inject('/api/pulse/queues')).json().queues.map((q: any) => q.waiting),
    [3],
    'the last counts read',
  )
  t.match((await app.inject('/fragments/queues/table')).body, 'Redis unreachable; showing the last counts read.')
  t.match((await app.inject('/queues/billing/emails')).body, 'Redis unreachable; showing the last counts read.')
  await redisServer.restart()
  await eventually(async () => {
    clock.advance(2_000)
    await app.collector.refresh()
    return app.collector.snapshot.redis.up
  }, 'the console reads Redis again')
  t.same((await app.inject('/api/pulse/queues')).json().queues, [], 'the restarted Redis is empty: no queue left')
})
