/**
 * The collector's health in /metrics, against a real Redis that refuses a part its reads: the
 * console's user loses ZCOUNT (the nodes part's node index reads need it, nothing else does), so
 * that part alone fails while Redis answers. Then Redis itself goes away: the outage shows as
 * zenith_redis_up 0, is not counted against the parts, and /metrics still answers from memory.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { dropBeats, writeBeats } from '../alerts/fixtures.js'
import { parseExposition, samplesOf, valueOf, type Family } from './exposition.js'

const PARTS = ['nodes', 'queues', 'commands', 'alerts', 'slow']

t.test('failures per part: counted while a part fails, kept after it recovers, not for an outage', async (t) => {
  const server = await startRedis()
  t.teardown(() => server.stop())
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 })
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: server.url, clock, partTimeoutMs: 1_000 })
  t.teardown(() => app.close())

  const tick = async () => {
    clock.advance(2_000)
    await writeBeats(admin, clock(), [
      { service: 'api', nodeId: 'a1' },
      { service: 'api', nodeId: 'a2' },
      { service: 'web', nodeId: 'w1' },
    ]).catch(() => {})
    await app.collector.refresh()
  }
  const scrape = async (): Promise<Map<string, Family>> => {
    const response = await app.inject({ url: '/metrics' })
    t.equal(response.statusCode, 200, '/metrics answers')
    return parseExposition(response.body)
  }
  const failuresOf = (families: Map<string, Family>) => Object.fromEntries(PARTS.map((part) => [part, valueOf(families, 'zenith_collector_part_failures_total', { part })]))
  const none = Object.fromEntries(PARTS.map((part) => [part, 0]))

  await tick()
  await tick()
  let families = await scrape()
  t.same(failuresOf(families), none)
  t.equal(valueOf(families, 'zenith_nodes', { service: 'api', health: 'fresh' }), 2)

  await admin.call('ACL', 'SETUSER', 'default', '-zcount')
  for (let i = 0; i < 3; i++) await tick()
  families = await scrape()
  t.same(failuresOf(families), { ...none, nodes: 3 }, 'three failed attempts of the nodes part, none of the others')
  t.equal(valueOf(families, 'zenith_collector_part_up', { part: 'nodes' }), 0)
  t.equal(valueOf(families, 'zenith_collector_part_consecutive_failures', { part: 'nodes' }), 3)
  t.equal(valueOf(families, 'zenith_collector_part_data_age_seconds', { part: 'nodes' }), 6, 'its data is three ticks old')
  t.equal(valueOf(families, 'zenith_collector_part_up', { part: 'queues' }), 1)
  t.equal(valueOf(families, 'zenith_redis_up'), 1, 'a part failing is not an outage')
  t.equal(valueOf(families, 'zenith_nodes', { service: 'api', health: 'fresh' }), 2, 'the last nodes read are still counted')

  await admin.call('ACL', 'SETUSER', 'default', '+zcount')
  await tick()
  families = await scrape()
  t.equal(valueOf(families, 'zenith_collector_part_up', { part: 'nodes' }), 1)
  t.equal(valueOf(families, 'zenith_collector_part_consecutive_failures', { part: 'nodes' }), 0)
  t.equal(valueOf(families, 'zenith_collector_part_failures_total', { part: 'nodes' }), 3, 'a counter never goes back')

  await admin.call('ACL', 'SETUSER', 'default', '-zcount')
  await tick()
  await tick()
  await admin.call('ACL', 'SETUSER', 'default', '+zcount')
  await tick()
  families = await scrape()
  t.same(failuresOf(families), { ...none, nodes: 5 }, 'a second episode adds to the first')

  await server.kill()
  await tick()
  await tick()
  families = await scrape()
  t.equal(valueOf(families, 'zenith_redis_up'), 0)
  t.same(failuresOf(families), { ...none, nodes: 5 }, "the outage is Redis's, not counted against the parts")
  t.equal(valueOf(families, 'zenith_collector_ticks_total'), 11, 'every tick, the outage ones too')
  clock.advance(40_000)
  t.equal(valueOf(await scrape(), 'zenith_snapshot_age_seconds'), 40, 'no tick for 40 s: the age says so')

  await server.restart()
  await eventually(async () => {
    clock.advance(2_000)
    return (await app.collector.refresh()).redis.up
  }, 'the console reads Redis again')
  t.equal(valueOf(await scrape(), 'zenith_redis_up'), 1)
})

t.test('a service gone from the snapshot leaves no series behind', async (t) => {
  const server = await startRedis()
  t.teardown(() => server.stop())
  const admin = new Redis(server.url)
  t.teardown(() => admin.disconnect())
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: server.url, clock, graceMs: 10_000 })
  t.teardown(() => app.close())
  const nodes = [
    { service: 'stays', nodeId: 's1' },
    { service: 'brief', nodeId: 'b1' },
  ]
  await writeBeats(admin, clock(), nodes)
  await app.collector.refresh()
  let families = parseExposition((await app.inject({ url: '/metrics' })).body)
  t.equal(valueOf(families, 'zenith_nodes', { service: 'brief', health: 'fresh' }), 1)

  await dropBeats(admin, [nodes[1]!])
  // past the dead node's grace period, with a beat from the node that stays
  for (const step of [2_000, 12_000]) {
    clock.advance(step)
    await writeBeats(admin, clock(), [nodes[0]!])
    await app.collector.refresh()
  }
  t.notOk(
    app.collector.snapshot.nodes.some((node) => node.service === 'brief'),
    'the snapshot has forgotten it',
  )
  families = parseExposition((await app.inject({ url: '/metrics' })).body)
  t.same(
    samplesOf(families, 'zenith_nodes').map((sample) => sample.labels.service),
    ['stays', 'stays', 'stays'],
    'no series of the service that left',
  )
})
