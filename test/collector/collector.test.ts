import t from 'tap'
import { Redis } from 'ioredis'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())
const redis = new Redis(redisServer.url)
t.teardown(() => redis.quit())

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
  const beat = sampleHeartbeat({ timestamp: clock(), id: 'api-1', service: 'api' })
  await redis.set('gravito:quasar:node:api:api-1', JSON.stringify(beat), 'EX', 30)
  await redis.zadd('gravito:quasar:index:nodes', clock(), 'api:api-1')

  await app.collector.refresh()
  const body = await nodesFromApi(app)
  t.equal(body.generatedAt, clock())
  t.same(body.services.map((s) => s.name), ['api'])
  const node = body.services[0]!.nodes[0]!
  t.equal(node.id, 'api-1')
  t.equal(node.health, 'fresh')
  t.equal(node.lastSeenAt, beat.timestamp)
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
  t.same(body.services.map((s) => s.name), ['php-worker'])
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
  t.equal(await healthNow(), 'dead', 'a beat over 30 s old is dead even while its key exists')

  await redis.del(key)
  clock.advance(30_000)
  const dead = (await (async () => (await app.collector.refresh(), nodesFromApi(app)))()).services[0]?.nodes[0]
  t.equal(dead?.health, 'dead', 'a gone key keeps the node listed with its last values')
  t.equal(dead?.hostname, 'web-1')

  clock.advance(60_000)
  await app.collector.refresh()
  t.same((await nodesFromApi(app)).services, [], 'gone after the grace period')
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

t.test('the index is listed only when its size changes; a new member is found on the next tick', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const beat = (id: string) => JSON.stringify(sampleHeartbeat({ timestamp: clock(), id, service: 'api' }))
  for (const id of ['a-1', 'a-2']) {
    await redis.set(`gravito:quasar:node:api:${id}`, beat(id), 'EX', 30)
    await redis.zadd('gravito:quasar:index:nodes', clock(), `api:${id}`)
  }
  await app.collector.refresh()
  const listings = async () => Number(/cmdstat_zrangebyscore:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0)

  // the same members beat again: the size is unchanged, so nothing is listed
  const before = await listings()
  for (let tick = 0; tick < 3; tick++) {
    clock.advance(2_000)
    for (const id of ['a-1', 'a-2']) await redis.zadd('gravito:quasar:index:nodes', clock(), `api:${id}`)
    await app.collector.refresh()
  }
  t.equal(await listings(), before, 'a steady index costs no listing')

  // a new node, written as the SDK writes it: found on the very next tick, well before SCAN is due
  clock.advance(2_000)
  await redis.set('gravito:quasar:node:api:a-3', beat('a-3'), 'EX', 30)
  await redis.zadd('gravito:quasar:index:nodes', clock(), 'api:a-3')
  await redis.set('other:key', 'x')
  await app.collector.refresh()
  t.equal(await listings(), before + 1)
  t.same((await nodesFromApi(app)).services[0]!.nodes.map((n) => n.id), ['a-1', 'a-2', 'a-3'])
})
