/** The /pulse page is gzipped for clients that accept it, and still carries the viewer's session. */
import t from 'tap'
import { gunzipSync } from 'node:zlib'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { login, probeRoutes } from '../auth/helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

t.test('a logged-in viewer gets the same page gzipped, with its session in it', async (t) => {
  const clock = fakeClock()
  const password = 'correct horse battery staple'
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, password, routes: probeRoutes })
  t.teardown(() => app.close())
  for (let i = 0; i < 30; i++) {
    await redis.set(keys.node('api', `n${i}`), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: `n${i}`, service: 'api' })), 'EX', 60)
  }
  await app.collector.refresh()
  const { cookie, csrf } = await login(app, { password })

  const plain = await app.inject({ url: '/pulse', headers: { cookie } })
  t.equal(plain.statusCode, 200)
  t.equal(plain.headers['content-encoding'], undefined, 'no gzip unless asked for')
  t.match(plain.headers['content-type'], /^text\/html/)
  t.match(plain.body, `hx-headers:inherited="{&quot;X-CSRF-Token&quot;:&quot;${csrf}&quot;}"`, "the session's CSRF token reached the layout")
  t.match(plain.body, 'class="session-user"', 'the logged-in user is shown')
  t.equal((plain.body.match(/<article class="node /g) ?? []).length, 30)

  const gzipped = await app.inject({ url: '/pulse', headers: { cookie, 'accept-encoding': 'gzip, deflate, br' } })
  t.equal(gzipped.headers['content-encoding'], 'gzip')
  t.equal(gzipped.headers.vary, 'accept-encoding')
  t.equal(gunzipSync(gzipped.rawPayload).toString('utf8'), plain.body, 'the same page, byte for byte')
  t.ok(gzipped.rawPayload.length < plain.rawPayload.length / 5, 'and much smaller')
})
