import t, { type Test } from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock, type TestAppOptions } from '../helpers/app.js'
import { FORM, cookieHeader, hiddenField, login, probeRoutes, submitLogin } from './helpers.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const PASSWORD = 'correct horse battery staple'

async function passwordApp(t: Test, extra: Partial<TestAppOptions> = {}) {
  const app = await buildTestApp({ redisUrl: redisServer.url, password: PASSWORD, routes: probeRoutes, ...extra })
  t.teardown(() => app.close())
  return app
}

t.test('pages redirect to the login form, keeping where the browser was going', async (t) => {
  const app = await passwordApp(t)
  const page = await app.inject({ url: '/pulse?service=api' })
  t.equal(page.statusCode, 303)
  t.equal(page.headers.location, '/login?next=%2Fpulse%3Fservice%3Dapi')

  const fragment = await app.inject({ url: '/fragments/pulse/nodes' })
  t.equal(fragment.statusCode, 303, 'a fragment fetched without htmx is a page like any other')

  const form = await app.inject({ url: '/login?next=%2Fpulse' })
  t.equal(form.statusCode, 200)
  t.match(form.body, /name="password"/)
  t.notMatch(form.body, /name="username"/, 'the single password needs no username')
  t.equal(hiddenField(form.body, 'next'), '/pulse')
})

t.test('htmx requests get 401 with HX-Redirect instead of a login page swapped into a fragment', async (t) => {
  const app = await passwordApp(t)
  const response = await app.inject({
    url: '/fragments/pulse/nodes',
    headers: { 'hx-request': 'true', 'hx-current-url': 'http://console.example/pulse?service=web' },
  })
  t.equal(response.statusCode, 401)
  t.equal(response.headers['hx-redirect'], '/login?next=%2Fpulse%3Fservice%3Dweb')
  t.notMatch(response.body, /<form/)
})

t.test('probes, assets and the login form stay open', async (t) => {
  const app = await passwordApp(t)
  t.equal((await app.inject({ url: '/livez' })).statusCode, 200)
  t.not((await app.inject({ url: '/readyz' })).statusCode, 303)
  t.equal((await app.inject({ url: '/login' })).statusCode, 200)
  const asset = await app.inject({ url: '/assets/no-such-file.css' })
  t.equal(asset.statusCode, 404, 'an asset URL answers as an asset, not with a login redirect')
})

t.test('the right password logs in and lands on next; the session opens pages', async (t) => {
  const app = await passwordApp(t)
  const response = await submitLogin(app, { password: PASSWORD, next: '/pulse?service=api' })
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, '/pulse?service=api')
  const cookie = cookieHeader(response, 'zenith_session')

  const who = await app.inject({ url: '/test/locals', headers: { cookie } })
  t.equal(who.statusCode, 200)
  t.same((who.json() as any).auth.user, { username: 'admin', role: 'operator' })
  t.equal((who.json() as any).auth.session, true)

  // already logged in: the form sends you on
  const again = await app.inject({ url: '/login?next=%2Fpulse', headers: { cookie } })
  t.equal(again.statusCode, 303)
  t.equal(again.headers.location, '/pulse')
})

t.test('a wrong password is refused with 401, the form again, and a log line without the password', async (t) => {
  const logLines: string[] = []
  const app = await passwordApp(t, { logLines })
  const response = await submitLogin(app, { password: 'hunter2-wrong' })
  t.equal(response.statusCode, 401)
  t.match(response.body, /Wrong password/)
  t.notOk(
    response.cookies.find((c) => c.name === 'zenith_session'),
    'no session cookie',
  )
  const failures = logLines.filter((line) => line.includes('"login_failed"'))
  t.equal(failures.length, 1)
  t.notMatch(logLines.join('\n'), /hunter2-wrong/)
})

t.test('next only ever points inside the console', async (t) => {
  const app = await passwordApp(t)
  for (const next of ['https://evil.example/', '//evil.example/x', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', '/login', 'pulse']) {
    const response = await submitLogin(app, { password: PASSWORD, next })
    t.equal(response.statusCode, 303, next)
    t.equal(response.headers.location, '/', `${next} becomes /`)
  }
  const form = await app.inject({ url: '/login?next=' + encodeURIComponent('//evil.example') })
  t.equal(hiddenField(form.body, 'next'), '/')
})

t.test('the session cookie is signed, HttpOnly, SameSite and lasts at most 12 hours', async (t) => {
  const app = await passwordApp(t)
  const response = await submitLogin(app, { password: PASSWORD })
  const session = response.cookies.find((c) => c.name === 'zenith_session')!
  t.equal(session.httpOnly, true)
  t.equal(session.sameSite, 'Lax')
  t.equal(session.path, '/')
  t.equal(session.maxAge, 12 * 60 * 60)
  t.notOk(session.secure, 'plain http: no Secure flag, or the browser would drop the cookie')

  // another id under the same signature: refused before Redis is asked
  const signature = session.value.slice(session.value.lastIndexOf('.'))
  const forged = `${'A'.repeat(43)}${signature}`
  const refused = await app.inject({ url: '/pulse', headers: { cookie: `zenith_session=${forged}` } })
  t.equal(refused.statusCode, 303)
})

t.test('Secure cookies when the browser came over https through a trusted proxy', async (t) => {
  const app = await passwordApp(t, { trustProxy: ['127.0.0.1'] })
  const response = await submitLogin(app, { password: PASSWORD, headers: { 'x-forwarded-proto': 'https' } })
  t.equal(response.statusCode, 303)
  t.equal(response.cookies.find((c) => c.name === 'zenith_session')!.secure, true)

  const untrusted = await passwordApp(t)
  const spoofed = await submitLogin(untrusted, { password: PASSWORD, headers: { 'x-forwarded-proto': 'https' } })
  t.notOk(spoofed.cookies.find((c) => c.name === 'zenith_session')!.secure, 'without trustProxy the header is ignored')
})

t.test('a session from another secret is not accepted; the same secret works across replicas', async (t) => {
  const secret = 'x'.repeat(40)
  const one = await passwordApp(t, { sessionSecret: secret })
  const two = await passwordApp(t, { sessionSecret: secret })
  const other = await passwordApp(t)
  const { cookie, csrf } = await login(one, { password: PASSWORD })
  t.equal((await two.inject({ url: '/test/locals', headers: { cookie } })).statusCode, 200)
  const posted = await two.inject({ method: 'POST', url: '/test/form', headers: { cookie, 'x-csrf-token': csrf, 'content-type': FORM }, payload: 'a=1' })
  t.equal(posted.statusCode, 200, 'the CSRF token comes with the session from Redis')
  t.equal((await other.inject({ url: '/test/locals', headers: { cookie } })).statusCode, 303)
})

t.test('a changed password ends existing sessions', async (t) => {
  const secret = 'y'.repeat(40)
  const before = await passwordApp(t, { sessionSecret: secret })
  const { cookie } = await login(before, { password: PASSWORD })
  const after = await passwordApp(t, { sessionSecret: secret, password: 'a new password' })
  t.equal((await after.inject({ url: '/test/locals', headers: { cookie } })).statusCode, 303)
})

t.test('the login form has its own CSRF token', async (t) => {
  const app = await passwordApp(t)
  const form = await app.inject({ url: '/login' })
  const loginCookie = cookieHeader(form, 'zenith_login')
  const token = hiddenField(form.body, '_csrf')
  const post = (cookie: string | undefined, csrf: string) =>
    app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': FORM, ...(cookie ? { cookie } : {}) },
      payload: new URLSearchParams({ _csrf: csrf, password: PASSWORD }).toString(),
    })
  t.equal((await post(undefined, token)).statusCode, 403, 'token without its cookie (a cross-site form)')
  t.equal((await post(loginCookie, 'forged')).statusCode, 403, 'cookie with a wrong token')
  t.equal((await post(loginCookie, '')).statusCode, 403, 'cookie without a token')
  const ok = await post(loginCookie, token)
  t.equal(ok.statusCode, 303)
})

t.test('bad login input gets 400, not a crash', async (t) => {
  const app = await passwordApp(t)
  const form = await app.inject({ url: '/login' })
  const cookie = cookieHeader(form, 'zenith_login')
  const token = hiddenField(form.body, '_csrf')
  for (const payload of [`_csrf=${token}`, `_csrf=${token}&password=`, `_csrf=${token}&password=${'a'.repeat(5000)}`]) {
    const response = await app.inject({ method: 'POST', url: '/login', headers: { 'content-type': FORM, cookie }, payload })
    t.equal(response.statusCode, 400, payload.slice(0, 60))
  }
  const json = await app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/json', cookie }, payload: '{"password": 5}' })
  t.equal(json.statusCode, 400)
})

t.test('failed logins are rate-limited per address: 429 after five, even for the right password', async (t) => {
  const clock = fakeClock()
  const logLines: string[] = []
  const app = await passwordApp(t, { clock, logLines })
  for (let i = 0; i < 5; i++) t.equal((await submitLogin(app, { password: `wrong-${i}`, ip: '10.0.0.1' })).statusCode, 401)
  const limited = await submitLogin(app, { password: PASSWORD, ip: '10.0.0.1' })
  t.equal(limited.statusCode, 429)
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.match(limited.body, /Too many failed logins/)
  t.ok(logLines.some((line) => line.includes('"login_rate_limited"')))

  t.equal((await submitLogin(app, { password: PASSWORD, ip: '10.0.0.2' })).statusCode, 303, 'another address is not affected')

  clock.advance(15 * 60_000)
  t.equal((await submitLogin(app, { password: PASSWORD, ip: '10.0.0.1' })).statusCode, 303, 'the window ends')
})

t.test('a burst of parallel attempts gets no more than five past the limit', async (t) => {
  const app = await passwordApp(t)
  const codes = await Promise.all(Array.from({ length: 12 }, (_, i) => submitLogin(app, { password: `guess-${i}`, ip: '10.0.0.9' }).then((r) => r.statusCode)))
  t.equal(codes.filter((code) => code === 401).length, 5)
  t.equal(codes.filter((code) => code === 429).length, 7)
})

t.test('logout needs the CSRF token and then clears the session', async (t) => {
  const app = await passwordApp(t)
  const { cookie, csrf } = await login(app, { password: PASSWORD })

  const without = await app.inject({ method: 'POST', url: '/logout', headers: { cookie, 'content-type': FORM }, payload: '' })
  t.equal(without.statusCode, 403)
  const wrong = await app.inject({ method: 'POST', url: '/logout', headers: { cookie, 'content-type': FORM }, payload: '_csrf=nope' })
  t.equal(wrong.statusCode, 403)

  const out = await app.inject({ method: 'POST', url: '/logout', headers: { cookie, 'content-type': FORM }, payload: `_csrf=${encodeURIComponent(csrf)}` })
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/login')
  const cleared = out.cookies.find((c) => c.name === 'zenith_session')!
  t.equal(cleared.value, '')
  t.ok(cleared.expires && cleared.expires.getTime() < Date.now(), 'expired')
})

t.test('state-changing requests from a session need the CSRF token (form field or header)', async (t) => {
  const app = await passwordApp(t)
  const { cookie, csrf } = await login(app, { password: PASSWORD })
  const post = (headers: Record<string, string>, payload: string) => app.inject({ method: 'POST', url: '/test/form', headers: { cookie, 'content-type': FORM, ...headers }, payload })

  t.equal((await post({}, 'a=1')).statusCode, 403)
  t.equal((await post({ 'x-csrf-token': 'forged' }, 'a=1')).statusCode, 403)
  const other = await login(app, { password: PASSWORD })
  t.equal((await post({ 'x-csrf-token': other.csrf }, 'a=1')).statusCode, 403, "another session's token")

  const viaHeader = await post({ 'x-csrf-token': csrf }, 'a=1')
  t.equal(viaHeader.statusCode, 200)
  const viaField = await post({}, `a=1&_csrf=${encodeURIComponent(csrf)}`)
  t.equal(viaField.statusCode, 200)
  t.same((viaField.json() as any).body, { a: '1' }, 'the token field is not passed on to the route')
})

t.test('templates get the user and the hx-headers JSON through reply.locals', async (t) => {
  const app = await passwordApp(t)
  const { cookie, csrf } = await login(app, { password: PASSWORD })
  const rendered = await app.inject({ url: '/test/rendered', headers: { cookie } })
  t.equal(rendered.body, `admin|${JSON.stringify({ 'X-CSRF-Token': csrf })}`)
})
