/** /api/pulse/nodes is served from one serialisation per snapshot, with an ETag and gzip. */
import t from 'tap'
import { gunzipSync } from 'node:zlib'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()
const clock = fakeClock()
const app = await buildTestApp({ redisUrl: redisServer.url, clock })
t.teardown(() => app.close())

async function beat(nodeId: string, hostname: string) {
  await redis.set(keys.node('api', nodeId), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: nodeId, service: 'api', hostname })), 'EX', 60)
  await redis.zadd(keys.nodeIndex(), clock(), keys.indexMember('api', nodeId))
}

t.test('JSON with a validator; unchanged data answers 304, changed data a new body', async (t) => {
  for (let i = 0; i < 40; i++) await beat(`n${i}`, `host-${i}`)
  await app.collector.refresh()
  const first = await app.inject('/api/pulse/nodes')
  t.equal(first.statusCode, 200)
  t.match(first.headers['content-type'], /^application\/json/)
  t.equal(first.json().services[0].nodes.length, 40)
  const etag = first.headers.etag as string
  t.ok(etag, 'an ETag')

  const again = await app.inject({ url: '/api/pulse/nodes', headers: { 'if-none-match': etag } })
  t.equal(again.statusCode, 304, 'same snapshot, same answer: 304')

  const gzipped = await app.inject({ url: '/api/pulse/nodes', headers: { 'accept-encoding': 'gzip' } })
  t.equal(gzipped.headers['content-encoding'], 'gzip')
  t.same(JSON.parse(gunzipSync(gzipped.rawPayload).toString('utf8')), first.json(), 'the gzipped body is the same JSON')

  await beat('n0', 'renamed')
  await app.collector.refresh()
  const changed = await app.inject({ url: '/api/pulse/nodes', headers: { 'if-none-match': etag } })
  t.equal(changed.statusCode, 200)
  t.equal(changed.json().services[0].nodes.find((n: { id: string }) => n.id === 'n0').hostname, 'renamed')

  const filtered = await app.inject('/api/pulse/nodes?service=other')
  t.same(filtered.json().services, [], 'the filter has its own cached answer')
  t.equal((await app.inject('/api/pulse/nodes?service=bad*name')).statusCode, 400)
})
