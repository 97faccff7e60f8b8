/**
 * One master of a real 3-master Cluster is killed during a run, then restarted, for Redis and
 * Valkey. The console stays reachable (other masters answer), names the missing master with its
 * slot ranges in the snapshot, the part-status banner and /readyz, keeps the data read before,
 * and clears the warning by itself once the master is back.
 * - `--cluster-require-full-coverage no`: only the missing master is degraded.
 * - Redis' default (full coverage): after the node timeout every master reports
 *   cluster_state:fail and refuses every keyed command; the answering ones are named as refusing.
 */
import t, { type Test } from 'tap'
import { createKeys } from '@gravito/quasar/protocol'
import { ENGINES, type RedisEngine } from '../helpers/redis-server.js'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { eventually } from '../helpers/eventually.js'
import type { DegradedShard } from '../../server/redis/cluster-health.js'

const keys = createKeys()
const SERVICES = Array.from({ length: 8 }, (_, i) => `svc-${i}`)

async function degradedRun(t: Test, engine: RedisEngine, fullCoverage: boolean, victim: number) {
  const cluster = await startRedisCluster(3, { engine, extraArgs: fullCoverage ? [] : ['--cluster-require-full-coverage', 'no'] })
  t.teardown(() => cluster.stop())
  const agent = cluster.connect()
  t.teardown(() => agent.disconnect())
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: cluster.url, redisCluster: true, clock })
  t.teardown(() => app.close())
  for (const service of SERVICES) {
    for (let n = 0; n < 3; n++) await agent.set(keys.node(service, `n${n}`), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: `n${n}`, service })), 'EX', 600)
  }
  const tick = async () => {
    clock.advance(2_000)
    return app.collector.refresh()
  }
  const before = await tick()
  t.same(before.redis, { up: true, downSince: null }, 'every master serves')
  t.equal(before.nodes.length, SERVICES.length * 3)

  const address = `${cluster.nodes[victim]!.host}:${cluster.nodes[victim]!.port}`
  await cluster.servers[victim]!.kill()

  let shards: readonly DegradedShard[] = []
  await eventually(async () => {
    const snapshot = await tick()
    shards = snapshot.redis.shards ?? []
    t.equal(snapshot.redis.up, true, 'never unreachable while other masters answer')
    return shards.some((shard) => shard.address === address && shard.state === 'down')
  }, `${address} reported down`)
  const victimShard = shards.find((shard) => shard.address === address)!
  t.ok(victimShard.slots.length > 0, `its slot ranges: ${victimShard.slots.join(', ')}`)
  for (const range of victimShard.slots) t.match(range, /^\d+(-\d+)?$/)
  if (!fullCoverage) {
    t.same(
      shards.map((shard) => shard.address),
      [address],
      'only the missing master',
    )
  } else {
    // the answering masters notice the missing one after the node timeout, then refuse everything
    await eventually(async () => (await tick()).redis.shards?.length === 3, 'every master refusing after the node timeout')
    const all = (await tick()).redis.shards!
    t.same(all.filter((shard) => shard.state === 'refusing').length, 2, 'the two others answer and refuse')
    for (const shard of all.filter((s) => s.state === 'refusing')) t.equal(shard.reason, 'cluster_state:fail')
  }

  const during = app.collector.snapshot
  t.equal(during.nodes.length, SERVICES.length * 3, 'the nodes read before are still shown')
  const ready = (await app.inject('/readyz')).json() as { status: string; shards?: DegradedShard[] }
  t.equal(ready.status, 'ready', 'the console is up')
  t.match(
    ready.shards?.find((shard) => shard.address === address),
    { state: 'down', slots: victimShard.slots },
    '/readyz names the master and its slots',
  )
  const fragment = (await app.inject('/fragments/pulse/nodes')).body
  t.match(fragment, `Master ${address} (slots ${victimShard.slots.join(', ')}) does not answer`, 'the banner names it')
  if (fullCoverage) t.match(fragment, /cluster-require-full-coverage yes/, 'and says why the others refuse')

  await cluster.servers[victim]!.restart()
  await eventually(
    async () => {
      const snapshot = await tick()
      return snapshot.redis.shards === undefined && Object.values(snapshot.parts).every((part) => part.ok)
      // the Cluster agrees again after its node timeout, and the client reconnects with a backoff of
      // up to 5 s: on a loaded machine that can take longer than eventually's default
    },
    'every shard serving again and every part read',
    60_000,
  )
  t.notMatch((await app.inject('/fragments/pulse/nodes')).body, /data-shards/, 'the banner is gone')
  t.notOk(((await app.inject('/readyz')).json() as { shards?: unknown }).shards, '/readyz lists no shard')
  t.equal(app.collector.snapshot.redis.up, true)
}

for (const engine of ENGINES) {
  t.test(`${engine}: a master killed without full coverage is the only degraded shard`, (t) => degradedRun(t, engine, false, engine === 'redis' ? 1 : 2))
  t.test(`${engine}: a master killed with full coverage stops the whole Cluster, named shard by shard`, (t) => degradedRun(t, engine, true, engine === 'redis' ? 0 : 1))
}
