/**
 * The SCAN safety nets on a real 3-master Cluster: heartbeat keys and slow streams spread over every
 * shard are all found, where a plain SCAN through the Cluster client sees one shard's share. On
 * Redis and on Valkey alike.
 */
import t, { type Test } from 'tap'
import { createKeyFinder } from '../../server/redis/key-finder.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { createSlowStreamScanner } from '../../server/slow/stream-scan.js'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { ENGINES, type RedisEngine } from '../helpers/redis-server.js'

const keys = createConsoleKeys('gravito:quasar:')
const badData = { report: () => {} }
const services = Array.from({ length: 40 }, (_, i) => `svc-${(i * 13) % 40}`)

for (const engine of ENGINES) t.test(`on ${engine}`, (t) => suite(t, engine))

async function suite(t: Test, engine: RedisEngine): Promise<void> {
  const cluster = await startRedisCluster(3, { engine })
  t.teardown(() => cluster.stop())
  const client = cluster.connect()
  t.teardown(() => client.quit())

  for (const [i, service] of services.entries()) {
    await client.set(keys.node(service, `n${i % 3}`), '{}')
    await client.xadd(keys.slow(service), '*', 'kind', 'job')
    await client.set(`other:${i}`, 'x')
  }

  t.test('the node SCAN finds every heartbeat key, whichever master holds it', async (t) => {
    const finder = createKeyFinder(client, keys, { indexWindowMs: 60_000, futureLimitMs: 60_000, badData, scanCount: 10, scanStepsPerTick: 1 })
    const found = new Set<string>()
    // one step per tick: a pass over a small COUNT takes several ticks
    for (let tick = 0; tick < 40; tick++) for (const key of await finder.scanStep(1_000 + tick)) found.add(key)
    t.same(found, new Set(services.map((service, i) => keys.node(service, `n${i % 3}`))))
  })

  t.test('the slow-stream SCAN finds every stream, whichever master holds it', async (t) => {
    const scanner = createSlowStreamScanner(client, keys, badData, { stepsPerTick: 100 })
    await scanner.step(1_000)
    t.same(scanner.services(), new Set(services))
  })
}
