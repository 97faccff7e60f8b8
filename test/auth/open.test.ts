import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { FORM, probeRoutes } from './helpers.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

t.test('running open: pages and API answer without a login, and boot says so once', async (t) => {
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, logLines, routes: probeRoutes })
  t.teardown(() => app.close())
  const warnings = logLines.filter((line) => line.includes('running without a password'))
  t.equal(warnings.length, 1)
  t.equal(JSON.parse(warnings[0]!).level, 40, 'a warning')

  t.equal((await app.inject({ url: '/api/pulse/nodes' })).statusCode, 200)
  const who = await app.inject({ url: '/test/locals' })
  t.same((who.json() as any).auth.user, { username: 'anonymous', role: 'operator' })
  t.equal((who.json() as any).auth.session, false)
  t.equal((await app.inject({ url: '/login' })).headers.location, '/', 'no login form to show')
})

t.test('a console with a password logs no such warning', async (t) => {
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, logLines, password: 'a long shared password' })
  t.teardown(() => app.close())
  t.notOk(logLines.some((line) => line.includes('running without a password')))
})

t.test('running open, forms still need the CSRF token a cross-site page cannot read', async (t) => {
  const app = await buildTestApp({ redisUrl: redisServer.url, routes: probeRoutes })
  t.teardown(() => app.close())
  const csrf = ((await app.inject({ url: '/test/locals' })).json() as any).auth.csrfToken as string
  t.ok(csrf.length >= 32)
  t.equal((await app.inject({ method: 'POST', url: '/test/form', headers: { 'content-type': FORM }, payload: 'a=1' })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/test/form', headers: { 'content-type': FORM }, payload: `a=1&_csrf=${encodeURIComponent(csrf)}` })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/test/act', headers: { 'content-type': FORM, 'x-csrf-token': csrf }, payload: 'a=1' })).statusCode, 200, 'the anonymous user is an operator')

  // JSON API writes need no token (no cookie rides along) but are JSON-only
  t.equal((await app.inject({ method: 'POST', url: '/api/test/echo', headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/api/test/echo', headers: { 'content-type': 'text/plain' }, payload: '{}' })).statusCode, 415)
})

t.test('an exposed open console refuses to boot unless insecure', async (t) => {
  await t.rejects(buildTestApp({ redisUrl: redisServer.url, host: '0.0.0.0' }), /refusing to listen on 0\.0\.0\.0 without a password/)
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, host: '0.0.0.0', insecure: true, logLines })
  t.teardown(() => app.close())
  t.ok(logLines.some((line) => line.includes('running without a password on 0.0.0.0 (--insecure)')))
})
