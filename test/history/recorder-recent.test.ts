/**
 * The history recorder's recent samples against a real Redis, on a fake clock: at most 30 per
 * series for sparklines, read back a batch per tick after a restart (also for a fleet larger than
 * one pipeline), and a dead node no longer sampled, then forgotten.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { beat, historyApi, SECOND, storedBuckets } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)

t.beforeEach(async () => {
  await redis.flushall()
})

t.test('recent samples for sparklines: at most 30, and read back from Redis after a restart', async (t) => {
  const clock = fakeClock()
  const first = await buildTestApp({ redisUrl: redisServer.url, clock })
  for (let i = 0; i < 40; i++) {
    await beat(redis, clock(), { cpu: i })
    await first.collector.refresh()
    clock.advance(10 * SECOND)
  }
  const recent = first.history.recent('billing', 'node-1')
  t.equal(recent.length, 30)
  t.same(
    recent.map((p) => p.values[0]),
    Array.from({ length: 30 }, (_, i) => i + 10),
    'oldest first, the newest last',
  )
  t.same(first.history.recent('billing', 'nope'), [])
  await first.close()

  const second = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => second.close())
  t.same(second.history.recent('billing', 'node-1'), [], 'nothing before the first tick')
  await beat(redis, clock(), { cpu: 40 })
  await second.collector.refresh()
  const restored = second.history.recent('billing', 'node-1')
  t.same(
    restored.map((p) => p.values[0]),
    Array.from({ length: 30 }, (_, i) => i + 11),
    'the restarted console has the last 30 samples',
  )
  const cpu = second.history.sparklines('billing', 'node-1').cpu
  t.equal(cpu.classes, 'sparkline sparkline-cpu')
  t.equal(cpu.line?.points.split(' ').length, 30, 'one point per restored sample')
})

t.test('a dead node is not sampled again, and is forgotten with its grace period', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, graceMs: 60_000 })
  t.teardown(() => app.close())
  await beat(redis, clock(), { cpu: 5 })
  await app.collector.refresh()
  for (let i = 0; i < 6; i++) {
    clock.advance(10 * SECOND)
    await app.collector.refresh()
  }
  t.equal((await storedBuckets(redis, 'node', 'billing', 'node-1', 'raw')).size, 1, 'one beat, one sample, however many ticks')
  await redis.del('gravito:quasar:node:billing:node-1')
  clock.advance(2 * SECOND)
  await app.collector.refresh()
  // the grace period runs from when the console saw the key gone
  clock.advance(60 * SECOND)
  await app.collector.refresh()
  t.same(app.history.recent('billing', 'node-1'), [], 'gone from the snapshot, gone from memory')
  t.equal((await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=1h')).status, 200, 'its history is still served')
})

t.test('after a restart, recent samples of many series are read back a batch per tick', async (t) => {
  const clock = fakeClock()
  const nodes = Array.from({ length: 600 }, (_, i) => `n-${String(i).padStart(3, '0')}`)
  const beatAll = async () => {
    const pipeline = redis.pipeline()
    for (const id of nodes) {
      pipeline.set(`gravito:quasar:node:fleet:${id}`, JSON.stringify({ timestamp: clock(), cpu: { system: 1, process: 1, cores: 1 } }), 'EX', 30)
      pipeline.zadd('gravito:quasar:index:nodes', clock(), `fleet:${id}`)
    }
    await pipeline.exec()
  }
  const first = await buildTestApp({ redisUrl: redisServer.url, clock })
  for (let i = 0; i < 3; i++) {
    await beatAll()
    await first.collector.refresh()
    clock.advance(10 * SECOND)
  }
  await first.close()

  const second = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => second.close())
  const restored = () => nodes.filter((id) => second.history.recent('fleet', id).length === 4).length
  await beatAll()
  await second.collector.refresh()
  t.equal(restored(), 500, 'the first tick reads back one batch')
  t.equal(nodes.filter((id) => second.history.recent('fleet', id).length === 1).length, 100, 'the others show their new sample meanwhile')
  clock.advance(2 * SECOND)
  await second.collector.refresh()
  t.equal(restored(), 600, 'the next tick reads the rest')
})

t.test('a fleet larger than one pipeline: every sample is written once, and read-backs still line up', async (t) => {
  const clock = fakeClock()
  // more writes than three of the store's pipelines hold, plus a batch of read-backs in the first
  const nodes = Array.from({ length: 4_500 }, (_, i) => `n-${String(i).padStart(4, '0')}`)
  const cpuOf = (id: string) => Number(id.slice(2)) % 100
  const beatAll = async () => {
    const pipeline = redis.pipeline()
    for (const id of nodes) {
      pipeline.set(`gravito:quasar:node:fleet:${id}`, JSON.stringify({ timestamp: clock(), cpu: { system: cpuOf(id), process: 1, cores: 1 } }), 'EX', 30)
      pipeline.zadd('gravito:quasar:index:nodes', clock(), `fleet:${id}`)
    }
    await pipeline.exec()
  }
  const first = await buildTestApp({ redisUrl: redisServer.url, clock })
  await beatAll()
  await first.collector.refresh()
  const firstBucket = clock()
  clock.advance(10 * SECOND)
  await beatAll()
  await first.collector.refresh()
  await first.close()
  const stored = await redis.keys('gravito:quasar:hist:{node:fleet:*}:raw:*')
  t.equal(new Set(stored.map((key) => /{node:fleet:([^}]+)}/.exec(key)?.[1])).size, nodes.length, 'every node has raw samples')

  const second = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => second.close())
  clock.advance(10 * SECOND)
  await beatAll()
  await second.collector.refresh()
  const restored = nodes.filter((id) => second.history.recent('fleet', id).length === 3)
  t.equal(restored.length, 500, 'one batch read back on the first tick')
  const wrong = restored.filter((id) => second.history.recent('fleet', id)[0]!.t !== firstBucket || second.history.recent('fleet', id)[0]!.values[0] !== cpuOf(id))
  t.same(wrong, [], "each node got its own samples back, not a neighbour's")
})
