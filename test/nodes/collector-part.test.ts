import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { MAX_VALUE_BYTES } from '@gravito/quasar/protocol'
import { createNodeCollector, createRedisNodeCollector } from '../../server/nodes/collector-part.js'
import { createKeyFinder } from '../../server/redis/key-finder.js'
import { createNodeReader } from '../../server/nodes/store.js'
import { createBadDataLog } from '../../server/collector/bad-data-log.js'
import { createConsoleKeys } from '../../server/redis/keys.js'

const { server: redisServer, redis } = await useRedis(t)

t.beforeEach(async () => {
  await redis.flushall()
})

async function nodesFromApi(app: Awaited<ReturnType<typeof buildTestApp>>) {
  const response = await app.inject({ url: '/api/pulse/nodes' })
  return response.json() as { generatedAt: number; services: { name: string; nodes: Record<string, any>[] }[] }
}

t.test('a node written the way the SDK writes it is in the snapshot and the API', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  // the agent's clock is 3 s behind the console's: shown as sent, not used for health
  const beat = sampleHeartbeat({ timestamp: clock() - 3_000, id: 'api-1', service: 'api' })
  await redis.set('gravito:quasar:node:api:api-1', JSON.stringify(beat), 'EX', 30)
  await redis.zadd('gravito:quasar:index:nodes:api', beat.timestamp, 'api-1')

  await app.collector.refresh()
  const body = await nodesFromApi(app)
  t.equal(body.generatedAt, clock())
  t.same(
    body.services.map((s) => s.name),
    ['api'],
  )
  const node = body.services[0]!.nodes[0]!
  t.equal(node.id, 'api-1')
  t.equal(node.health, 'fresh')
  t.equal(node.lastSeenAt, clock(), "last seen by the console's clock")
  t.equal(node.timestamp, beat.timestamp, "the beat's own timestamp as sent")
  t.equal(node.clockNote, undefined, 'a few seconds of skew is no clock note')
  t.same(node.cpu, beat.cpu)
  t.same(node.memory, beat.memory)
  t.equal(node.hostname, 'web-1')
})

t.test('an agent that only SETs its heartbeat key is found by SCAN', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  // the keyspace holds unrelated keys too, as a shared Redis would
  for (let i = 0; i < 50; i++) await redis.set(`other:app:${i}`, 'x')
  await redis.set('gravito:quasar:node:php-worker:host-7', JSON.stringify({ timestamp: clock(), language: 'php', hostname: 'host-7' }), 'EX', 30)

  await app.collector.refresh()
  const body = await nodesFromApi(app)
  t.same(
    body.services.map((s) => s.name),
    ['php-worker'],
  )
  t.equal(body.services[0]!.nodes[0]!.language, 'php')
})

t.test('health goes fresh, stale, dead, then the node disappears after the grace period', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, graceMs: 60_000 })
  t.teardown(() => app.close())
  const key = 'gravito:quasar:node:api:api-1'
  await redis.set(key, JSON.stringify(sampleHeartbeat({ timestamp: clock() })), 'EX', 30)
  const healthNow = async () => {
    await app.collector.refresh()
    return (await nodesFromApi(app)).services[0]?.nodes[0]?.health
  }

  t.equal(await healthNow(), 'fresh')
  clock.advance(15_000)
  t.equal(await healthNow(), 'fresh', 'exactly 15 s is still fresh')
  clock.advance(1)
  t.equal(await healthNow(), 'stale')
  clock.advance(15_000)
  t.equal(await healthNow(), 'dead', 'no new beat for over 30 s is dead even while its key exists')

  await redis.del(key)
  clock.advance(30_000)
  const dead = (await (async () => (await app.collector.refresh(), nodesFromApi(app)))()).services[0]?.nodes[0]
  t.equal(dead?.health, 'dead', 'a gone key keeps the node listed with its last values')
  t.equal(dead?.hostname, 'web-1')

  clock.advance(60_000)
  await app.collector.refresh()
  t.same((await nodesFromApi(app)).services, [], 'gone after the grace period')
})

t.test('a string at the legacy shared index is skipped and reported; every tick still succeeds', async (t) => {
  const clock = fakeClock()
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines })
  t.teardown(() => app.close())
  await redis.set('gravito:quasar:index:nodes', 'overwritten by an agent')
  const write = async () => {
    await redis.set('gravito:quasar:node:api:a-1', JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'a-1', service: 'api' })), 'EX', 30)
    await redis.zadd('gravito:quasar:index:nodes:api', clock(), 'a-1')
    await redis.set('gravito:quasar:node:php:p-1', JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'p-1', service: 'php' })), 'EX', 30)
  }
  for (let tick = 0; tick < 8; tick++) {
    if (tick % 5 === 0) await write()
    const snapshot = await app.collector.refresh()
    t.equal(snapshot.redis.up, true, `tick ${tick}: not an outage`)
    t.same(
      snapshot.nodes.map((n) => n.nodeId),
      ['a-1', 'p-1'],
      `tick ${tick}: both nodes listed`,
    )
    clock.advance(2_000)
  }
  const warnings = logLines.map((line) => JSON.parse(line)).filter((line) => line.key === JSON.stringify('gravito:quasar:index:nodes'))
  t.match(warnings, [{ reason: 'index key is not a sorted set: skipped' }], 'reported once')
})

t.test('a node whose key disappears turns dead at once', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const key = 'gravito:quasar:node:api:api-2'
  await redis.set(key, JSON.stringify(sampleHeartbeat({ timestamp: clock() })), 'EX', 30)
  await app.collector.refresh()
  await redis.del(key)
  clock.advance(2_000)
  await app.collector.refresh()
  t.equal((await nodesFromApi(app)).services[0]?.nodes[0]?.health, 'dead')
})

t.test('a large fleet: an indexed node is read when its index entry says it beat, and every key at each full read', async (t) => {
  // as from READ_ALL_BELOW indexed nodes on; one node is enough to see the rule
  const part = createRedisNodeCollector(redis, createConsoleKeys('gravito:quasar:'), { graceMs: 300_000, badData: createBadDataLog({ warn: () => {} }, Date.now), readAllBelow: 0 })
  let now = Date.UTC(2026, 10, 23, 12)
  const key = 'gravito:quasar:node:api:a-1'
  const write = (hostname: string) => redis.set(key, JSON.stringify(sampleHeartbeat({ timestamp: now, id: 'a-1', service: 'api', hostname })), 'EX', 30)
  const tick = async () => {
    now += 2_000
    return (await part.collect(now, undefined as never))[0]
  }
  await write('first')
  await redis.zadd('gravito:quasar:index:nodes', now, 'api:a-1')
  t.equal((await tick())?.heartbeat.hostname, 'first', 'a new node is read at once')

  // rewritten with a new index entry, as the SDK writes: read on the next tick
  await write('second')
  await redis.zadd('gravito:quasar:index:nodes', now, 'api:a-1')
  t.equal((await tick())?.heartbeat.hostname, 'second')

  // rewritten without touching the index: the index cannot tell, the next full read does
  await write('third')
  const seen: string[] = []
  for (let i = 0; i < 5; i++) seen.push((await tick())?.heartbeat.hostname ?? 'none')
  t.equal(seen[0], 'second', 'not read while its index entry stands still')
  t.equal(seen.at(-1), 'third', 'read by the full read, at most five ticks later')

  // deleted: a full read sees the key gone
  await redis.del(key)
  const present: boolean[] = []
  for (let i = 0; i < 5; i++) present.push((await tick())!.keyPresent)
  t.equal(present[0], true, 'not read in between')
  t.equal(present.at(-1), false, 'seen gone by the full read')
})

t.test('a beat whose read failed is read on the next tick, not at the next full read', async (t) => {
  const keys = createConsoleKeys('gravito:quasar:')
  const badData = createBadDataLog({ warn: () => {} }, Date.now)
  const reader = createNodeReader(redis, MAX_VALUE_BYTES)
  let failNext = false
  const part = createNodeCollector({
    keys,
    finder: createKeyFinder(redis, keys, { indexWindowMs: 330_000, futureLimitMs: 120_000, badData }),
    readValues: async (list) => {
      if (failNext) {
        failNext = false
        throw new Error('Command timed out')
      }
      return reader(list)
    },
    badData,
    maxValueBytes: MAX_VALUE_BYTES,
    graceMs: 300_000,
    readAllBelow: 0,
  })
  let now = Date.UTC(2026, 10, 23, 12)
  const write = async (hostname: string) => {
    await redis.set(keys.node('api', 'a-1'), JSON.stringify(sampleHeartbeat({ timestamp: now, id: 'a-1', service: 'api', hostname })), 'EX', 30)
    await redis.zadd(keys.serviceNodeIndex('api'), now, 'a-1')
  }
  const tick = async () => {
    now += 2_000
    return (await part.collect(now, undefined as never))[0]
  }
  await write('first')
  t.equal((await tick())?.heartbeat.hostname, 'first', 'found by SCAN, read at once')
  t.equal((await tick())?.heartbeat.hostname, 'first', 'its index is followed from here on')
  await write('second')
  failNext = true
  await t.rejects(tick(), /timed out/, 'the read of the new beat fails')
  t.equal((await tick())?.heartbeat.hostname, 'second', 'and is tried again on the next tick')
})
