import t, { type Test } from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp, type TestAppOptions } from '../helpers/app.js'
import { FORM, login, probeRoutes } from './helpers.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const PASSWORD = 'api password 123'
const TOKEN = 'tok_0123456789abcdef0123'

async function app(t: Test, extra: Partial<TestAppOptions> = {}) {
  const built = await buildTestApp({ redisUrl: redisServer.url, password: PASSWORD, apiToken: TOKEN, routes: probeRoutes, ...extra })
  t.teardown(() => built.close())
  return built
}

t.test('the API without credentials answers 401 JSON, never a login page or redirect', async (t) => {
  const built = await app(t)
  for (const url of ['/api/pulse/nodes', '/api/test/who']) {
    const response = await built.inject({ url, headers: { accept: 'text/html' } })
    t.equal(response.statusCode, 401, url)
    t.match(response.headers['content-type'], /application\/json/)
    t.match(response.json(), { error: 'Unauthorized' })
    t.equal(response.headers.location, undefined)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="zenith"')
  }
  const write = await built.inject({ method: 'POST', url: '/api/test/echo', headers: { 'content-type': 'application/json' }, payload: '{}' })
  t.equal(write.statusCode, 401)
})

t.test('a Bearer token is accepted with the operator role; a wrong one is 401', async (t) => {
  const built = await app(t)
  const ok = await built.inject({ url: '/api/test/who', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { user: { username: 'api-token', role: 'operator' } })
  t.equal((await built.inject({ url: '/api/pulse/nodes', headers: { authorization: `bearer ${TOKEN}` } })).statusCode, 200, 'scheme is case-insensitive')

  for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer', `Basic ${TOKEN}`, TOKEN, 'Bearer  ']) {
    const response = await built.inject({ url: '/api/test/who', headers: { authorization } })
    t.equal(response.statusCode, 401, authorization)
    t.match(response.json(), { error: 'Unauthorized' })
  }
})

t.test('the token opens the API only, not pages', async (t) => {
  const built = await app(t)
  const page = await built.inject({ url: '/pulse', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(page.statusCode, 303)
})

t.test('token writes need no CSRF token but do need application/json', async (t) => {
  const built = await app(t)
  const headers = { authorization: `Bearer ${TOKEN}` }
  const ok = await built.inject({ method: 'POST', url: '/api/test/echo', headers: { ...headers, 'content-type': 'application/json; charset=utf-8' }, payload: '{"a":1}' })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { body: { a: 1 }, user: { username: 'api-token', role: 'operator' } })

  for (const contentType of ['text/plain', FORM, 'multipart/form-data; boundary=x', 'application/jsonx', undefined]) {
    const response = await built.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: contentType ? { ...headers, 'content-type': contentType } : headers,
      payload: '{"a":1}',
    })
    t.equal(response.statusCode, 415, String(contentType))
    t.match(response.json(), { error: 'Unsupported Media Type' })
  }
  const bodiless = await built.inject({ method: 'DELETE', url: '/api/test/item', headers })
  t.equal(bodiless.statusCode, 200, 'a DELETE without a body needs no content type')
  const withBody = await built.inject({ method: 'DELETE', url: '/api/test/item', headers: { ...headers, 'content-type': 'text/plain' }, payload: 'x' })
  t.equal(withBody.statusCode, 415)
})

t.test('a session cookie works for the API; its writes need the CSRF header', async (t) => {
  const built = await app(t)
  const { cookie, csrf } = await login(built, { password: PASSWORD })
  const read = await built.inject({ url: '/api/test/who', headers: { cookie } })
  t.equal(read.statusCode, 200)
  t.same(read.json(), { user: { username: 'admin', role: 'operator' } })

  const json = { cookie, 'content-type': 'application/json' }
  const refused = await built.inject({ method: 'POST', url: '/api/test/echo', headers: json, payload: '{}' })
  t.equal(refused.statusCode, 403)
  t.match(refused.json(), { error: 'Forbidden' })
  const accepted = await built.inject({ method: 'POST', url: '/api/test/echo', headers: { ...json, 'x-csrf-token': csrf }, payload: '{}' })
  t.equal(accepted.statusCode, 200)

  const crossSite = await built.inject({ method: 'POST', url: '/api/test/echo', headers: { cookie, 'content-type': 'text/plain' }, payload: '{}' })
  t.equal(crossSite.statusCode, 415, 'a cross-site simple POST is refused before it can act')
})

t.test('a wrong Bearer token is refused even when a valid session cookie rides along', async (t) => {
  const built = await app(t)
  const { cookie } = await login(built, { password: PASSWORD })
  const response = await built.inject({ url: '/api/test/who', headers: { cookie, authorization: 'Bearer wrong-token-000000' } })
  t.equal(response.statusCode, 401)
})

t.test('with only a token configured the API is closed and pages are open', async (t) => {
  const built = await app(t, { password: undefined })
  t.equal((await built.inject({ url: '/api/test/who' })).statusCode, 401)
  t.equal((await built.inject({ url: '/api/test/who', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200)
  const page = await built.inject({ url: '/test/locals' })
  t.equal(page.statusCode, 200)
  t.same((page.json() as any).auth.user, { username: 'anonymous', role: 'operator' })
})

t.test('a too-short API token fails boot', async (t) => {
  await t.rejects(buildTestApp({ redisUrl: redisServer.url, apiToken: 'short' }), /apiToken|16 characters/)
})
