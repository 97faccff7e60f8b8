/**
 * The console's Cluster connection on a healthy Cluster, for Redis and Valkey: it becomes ready
 * without a single reconnect, with every master's connection up, however often it is made. ioredis'
 * own ready check (CLUSTER INFO to a random node, refused while that node is still connecting when
 * the offline queue is off) made about one connection in four reconnect, and the first tick read
 * that as an outage.
 */
import t from 'tap'
import { ENGINES } from '../helpers/redis-server.js'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { connectRedis, waitUntilReady } from '../../server/redis/connection.js'
import { isCluster } from '../../server/redis/client.js'
import { slotRanges } from '../../server/redis/cluster-health.js'

const CONNECTIONS = 12

for (const engine of ENGINES) {
  t.test(`${engine}: ${CONNECTIONS} connections, each ready without a reconnect`, async (t) => {
    const cluster = await startRedisCluster(3, { engine })
    t.teardown(() => cluster.stop())
    for (let i = 0; i < CONNECTIONS; i++) {
      const redis = connectRedis(cluster.url, `zenith-test-${i}`, { cluster: true })
      let reconnects = 0
      redis.on('reconnecting', () => reconnects++)
      try {
        // a generous hang guard, not a speed assertion: the reconnects are what is counted
        t.equal(await waitUntilReady(redis, 20_000), true, `connection ${i} ready`)
        t.equal(reconnects, 0, `connection ${i} never reconnected`)
        if (!isCluster(redis)) throw new Error('not a Cluster client')
        t.same(
          redis.nodes('master').map((node) => node.status),
          ['ready', 'ready', 'ready'],
          'every master connected',
        )
        t.equal(await redis.set(`k${i}`, 'v'), 'OK', 'the first command answers')
      } finally {
        redis.disconnect()
      }
    }
  })
}

t.test('slot ranges per master from the slot table', async (t) => {
  const table: string[][] = []
  for (let slot = 0; slot < 16384; slot++) table[slot] = [slot < 5461 ? 'a:1' : slot < 10923 ? 'b:2' : slot === 12000 ? 'a:1' : 'c:3', 'replica:9']
  t.same(Object.fromEntries(slotRanges(table)), { 'a:1': ['0-5460', '12000'], 'b:2': ['5461-10922'], 'c:3': ['10923-11999', '12001-16383'] })
  const gap: (string[] | undefined)[] = [['a:1'], undefined, ['a:1'], ['b:2']]
  t.same(Object.fromEntries(slotRanges(gap)), { 'a:1': ['0', '2'], 'b:2': ['3'] }, 'an unassigned slot ends a range')
})
