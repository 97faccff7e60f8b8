/**
 * Who may scrape /metrics: anyone on a console with no login and no token; otherwise the API
 * token only, never a session cookie alone. A refused scraper is told what to send; no answer is
 * stored by a proxy; scrapers are not rate limited; with the token required, any Host is answered.
 */
import t, { type Test } from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, type TestAppOptions } from '../helpers/app.js'
import { login, probeRoutes, writeUsersFile } from '../auth/helpers.js'
import { gunzipSync } from 'node:zlib'
import { parseExposition } from './exposition.js'

const { server, redis } = await useRedis(t)

const PASSWORD = 'metrics password 123'
const TOKEN = 'scrape_0123456789abcdef'
const bearer = { authorization: `Bearer ${TOKEN}` }

async function app(t: Test, options: Partial<TestAppOptions> = {}) {
  const built = await buildTestApp({ redisUrl: server.url, routes: probeRoutes, ...options })
  t.teardown(() => built.close())
  await built.collector.refresh()
  return built
}

/** a 200 whose body is the exposition format, with the fleet's metrics in it */
function assertScraped(t: Test, response: { statusCode: number; body: string; headers: Record<string, unknown> }, what: string) {
  t.equal(response.statusCode, 200, what)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/, what)
  t.ok(parseExposition(response.body).has('zenith_redis_up'), what)
  t.equal(response.headers['cache-control'], 'no-store', `${what}: never stored by a proxy`)
}

function assertRefused(t: Test, response: { statusCode: number; body: string; headers: Record<string, unknown> }, what: string) {
  t.equal(response.statusCode, 401, what)
  t.equal(response.headers.location, undefined, `${what}: no redirect to a login page`)
  t.match(response.headers['content-type'], /^text\/plain/, what)
  t.match(response.body, /Authorization: Bearer <token>/, `${what}: says what to send`)
  t.notMatch(response.body, /zenith_/, `${what}: no metric leaks`)
  t.equal(response.headers['cache-control'], 'no-store', what)
}

t.test('an open console (no login, no token) answers anyone', async (t) => {
  const built = await app(t)
  assertScraped(t, await built.inject({ url: '/metrics' }), 'no header')
  assertScraped(t, await built.inject({ url: '/metrics', headers: { authorization: 'Bearer anything-at-all-here' } }), 'a token nobody configured is ignored, as under /api/')
})

t.test('an open console with an API token wants it, as /api/ does', async (t) => {
  const built = await app(t, { apiToken: TOKEN })
  assertRefused(t, await built.inject({ url: '/metrics' }), 'no header')
  t.equal((await built.inject({ url: '/metrics' })).headers['www-authenticate'], 'Bearer realm="zenith"')
  assertScraped(t, await built.inject({ url: '/metrics', headers: bearer }), 'the token')
})

t.test('with a password and a token: the token only, never the session cookie alone', async (t) => {
  const built = await app(t, { password: PASSWORD, apiToken: TOKEN })
  assertRefused(t, await built.inject({ url: '/metrics' }), 'no header')
  for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer']) {
    assertRefused(t, await built.inject({ url: '/metrics', headers: { authorization } }), authorization)
  }
  assertScraped(t, await built.inject({ url: '/metrics', headers: bearer }), 'the token')
  assertScraped(t, await built.inject({ url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } }), 'the scheme in any case')

  const { cookie } = await login(built, { password: PASSWORD })
  t.equal((await built.inject({ url: '/api/test/who', headers: { cookie } })).statusCode, 200, 'the session is good for the API')
  assertRefused(t, await built.inject({ url: '/metrics', headers: { cookie } }), 'a session cookie alone')
  assertScraped(t, await built.inject({ url: '/metrics', headers: { cookie, ...bearer } }), 'a cookie beside the token')
})

t.test('with a password and no token, /metrics says to configure one', async (t) => {
  const built = await app(t, { password: PASSWORD })
  const response = await built.inject({ url: '/metrics' })
  assertRefused(t, response, 'no header')
  t.match(response.body, /ZENITH_API_TOKEN/)
  t.equal(response.headers['www-authenticate'], undefined, 'no token to ask for')
  const { cookie } = await login(built, { password: PASSWORD })
  assertRefused(t, await built.inject({ url: '/metrics', headers: { cookie } }), 'a session cookie')
})

t.test('with a users file: the token, not a viewer or operator session', async (t) => {
  const usersFile = await writeUsersFile([
    { username: 'ada', password: 'ada password 12345', role: 'viewer' },
    { username: 'bob', password: 'bob password 12345', role: 'operator' },
  ])
  const built = await app(t, { usersFile, apiToken: TOKEN })
  for (const user of ['ada', 'bob']) {
    const { cookie } = await login(built, { username: user, password: `${user} password 12345` })
    assertRefused(t, await built.inject({ url: '/metrics', headers: { cookie } }), `${user}'s session`)
  }
  assertScraped(t, await built.inject({ url: '/metrics', headers: bearer }), 'the token')
})

t.test('a scrape with a cookie and the token looks up no session: no Redis command', async (t) => {
  const built = await app(t, { password: PASSWORD, apiToken: TOKEN })
  const { cookie } = await login(built, { password: PASSWORD })
  const calls = async () => Number(/^total_commands_processed:(\d+)/m.exec(await redis.info('stats'))![1])
  const before = await calls()
  for (let i = 0; i < 20; i++) assertScraped(t, await built.inject({ url: '/metrics', headers: { cookie, ...bearer } }), `scrape ${i}`)
  t.equal(await calls(), before + 1, 'only the INFO that read the count')
})

t.test('scrapers are not rate limited like the API', async (t) => {
  const built = await app(t, { password: PASSWORD, apiToken: TOKEN, apiRateLimit: 3 })
  for (let i = 0; i < 3; i++) t.equal((await built.inject({ url: '/api/pulse/nodes', headers: bearer })).statusCode, 200)
  t.equal((await built.inject({ url: '/api/pulse/nodes', headers: bearer })).statusCode, 429, 'the API budget is spent')
  for (let i = 0; i < 10; i++) assertScraped(t, await built.inject({ url: '/metrics', headers: bearer }), `scrape ${i}`)
})

t.test('the Host check: any Host when the token is required, the console names when open', async (t) => {
  const guarded = await app(t, { password: PASSWORD, apiToken: TOKEN, publicUrl: 'https://zenith.example.com' })
  const podIp = { host: '10.1.2.3:3000' }
  assertScraped(t, await guarded.inject({ url: '/metrics', headers: { ...podIp, ...bearer } }), 'Prometheus by pod IP, with the token')
  assertRefused(t, await guarded.inject({ url: '/metrics', headers: podIp }), 'by pod IP without the token')
  t.equal((await guarded.inject({ url: '/pulse', headers: podIp })).statusCode, 421, 'pages keep the Host check')

  const open = await app(t)
  t.equal((await open.inject({ url: '/metrics', headers: { host: 'rebound.attacker.example' } })).statusCode, 421, 'an open console: a rebinding page is refused')
})

t.test('gzipped when asked, as Prometheus asks; the same text', async (t) => {
  const built = await app(t)
  const plain = await built.inject({ url: '/metrics' })
  t.equal(plain.headers['content-encoding'], undefined)
  const zipped = await built.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } })
  t.equal(zipped.headers['content-encoding'], 'gzip')
  t.equal(zipped.headers.vary, 'accept-encoding')
  const text = gunzipSync(zipped.rawPayload).toString('utf8')
  t.same([...parseExposition(text).keys()], [...parseExposition(plain.body).keys()], 'every family in both')
})
