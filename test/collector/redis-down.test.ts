import t from 'tap'
import { Redis } from 'ioredis'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { eventually } from '../helpers/eventually.js'

t.test('Redis killed and restarted: banner and last snapshot, then recovery by itself', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  const writer = new Redis(redisServer.url, { maxRetriesPerRequest: 1 })
  writer.on('error', () => {})
  t.teardown(() => writer.disconnect())

  await writer.set('gravito:quasar:node:api:n1', JSON.stringify(sampleHeartbeat({ timestamp: Date.now(), hostname: 'before-outage' })), 'EX', 30)
  await app.collector.refresh()
  t.equal((await app.inject('/readyz')).statusCode, 200)

  await redisServer.kill()
  const down = await app.collector.refresh()
  t.equal(down.redis.up, false)
  t.type(down.redis.downSince, 'number')

  t.equal((await app.inject('/livez')).statusCode, 200, 'liveness never depends on Redis')
  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 503)
  t.equal(ready.json().redis, 'unreachable')
  const page = await app.inject('/pulse')
  t.equal(page.statusCode, 200)
  t.match(page.body, /Redis unreachable since/)
  t.match(page.body, /before-outage/, 'the last snapshot is still shown')
  const api = (await app.inject('/api/pulse/nodes')).json()
  t.equal(api.services[0].nodes[0].hostname, 'before-outage')

  await redisServer.restart()
  await eventually(async () => {
    const snapshot = await app.collector.refresh()
    return snapshot.redis.up
  }, 'collector reaches Redis again')
  t.equal((await app.inject('/readyz')).statusCode, 200)
  t.notMatch((await app.inject('/pulse')).body, /Redis unreachable since/, 'banner gone')
})
