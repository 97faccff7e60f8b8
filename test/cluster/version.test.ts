/**
 * A Cluster mid-way through a rolling upgrade: two masters run Valkey 8 (which reports the Redis
 * version it matches, 7.2.x) and one runs Debian's Redis 7.0. A command is only as supported as on
 * the master that holds its key, so the console must take the oldest master's version, whichever
 * master its Cluster client would have asked on its own.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { buildTestApp } from '../helpers/app.js'
import { parseRedisVersion } from '../../server/redis/version-check.js'

t.test('the version checked on a Cluster of Valkey and Redis masters is the oldest one', async (t) => {
  const cluster = await startRedisCluster(3, { engines: ['valkey', 'valkey', 'redis'] })
  t.teardown(() => cluster.stop())
  const versions = await Promise.all(
    cluster.nodes.map(async ({ host, port }) => {
      const node = new Redis({ host, port })
      try {
        return parseRedisVersion(await node.info('server'))!
      } finally {
        node.disconnect()
      }
    }),
  )
  t.equal(new Set(versions).size, 2, `two versions among the masters: ${versions.join(', ')}`)
  const oldest = versions[2]!
  t.ok(
    versions.every((version) => version === oldest || version.localeCompare(oldest, 'en', { numeric: true }) > 0),
    `Redis's ${oldest} is the oldest`,
  )

  // several consoles: the one master a Cluster client asks by itself varies from one to the next
  for (let n = 0; n < 3; n++) {
    const app = await buildTestApp({ redisUrl: `redis://${cluster.nodes[n]!.host}:${cluster.nodes[n]!.port}`, redisCluster: true })
    t.equal(app.redisVersion.state.version, oldest, `a console seeded with master ${n + 1} checks ${oldest}`)
    await app.close()
  }
})
