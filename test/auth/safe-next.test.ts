/**
 * Where a login sends the browser: only a path on this site survives, judged on the text that ends
 * up in `Location`, after the URL parser has normalised it. Checked in isolation over many inputs,
 * then at the HTTP level both ways a `next` arrives: the query of GET /login (already logged in)
 * and the field of POST /login.
 */
import t from 'tap'
import { safeNext } from '../../server/auth/session.js'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { login, probeRoutes, submitLogin } from './helpers.js'

const PASSWORD = 'correct horse battery'

/** Each of these leads off the site, or to nothing sensible, once a browser reads it. */
const REFUSED = [
  // normalised into a scheme-relative URL: the finding's own examples
  '/.//evil.example',
  '/..//evil.example',
  '/%2e//evil.example',
  '/%2E//evil.example',
  '/%2e%2e//evil.example',
  '/./..//evil.example',
  '/a/..//evil.example',
  '/a/b/../..//evil.example',
  '/.%2e//evil.example',
  '/%2e/%2e//evil.example',
  '/.//evil.example/pulse?x=1#y',
  // backslashes, which browsers read as slashes
  '\\\\evil.example',
  '/\\evil.example',
  '\\/evil.example',
  '/.\\/evil.example',
  '/pulse\\..\\..\\/evil.example',
  // percent-encoded slashes or backslashes at the start, read as `//` by some proxies
  '/%2f/evil.example',
  '/%2F%2Fevil.example',
  '/%5c/evil.example',
  '/%5C%5Cevil.example',
  '/%2e%2e/%2f/evil.example',
  // tabs, newlines and other control characters, which the URL parser strips
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r\n/evil.example',
  '/pulse\nLocation: https://evil.example',
  '/\u0000/evil.example',
  '/pul\tse',
  '/\u007f',
  // absolute and scheme-relative URLs, and what is not a path at all
  '//evil.example',
  '///evil.example',
  'https://evil.example/',
  'http:/evil.example',
  'javascript:alert(1)',
  'data:text/html,x',
  'pulse',
  '.',
  '',
  ' /pulse',
  // the login and logout routes themselves, however spelled
  '/login',
  '/logout',
  '/./login',
  '/pulse/../login',
  '/%6cogin',
  // unreadable percent-encoding
  '/%E0%A4%A',
  'x'.repeat(3000),
]

/** Same-site paths keep their meaning (the parser may tidy them). */
const KEPT: Array<[string, string]> = [
  ['/pulse', '/pulse'],
  ['/pulse?service=api', '/pulse?service=api'],
  ['/pulse?next=//evil.example', '/pulse?next=//evil.example'],
  ['/pulse#nodes', '/pulse#nodes'],
  ['/queues/service/billing/emails', '/queues/service/billing/emails'],
  ['/queues/service/billing/a%20b%5Cc', '/queues/service/billing/a%20b%5Cc'],
  ['/queues/service/b%C3%BCro/emails', '/queues/service/b%C3%BCro/emails'],
  ['/pulse/./fragments/../x', '/pulse/x'],
  ['/a//b', '/a//b'],
  ['/%2e/pulse', '/pulse'],
  ['/audit', '/audit'],
  ['/', '/'],
]

t.test('safeNext refuses every path that leaves the site once normalised', async (t) => {
  for (const next of REFUSED) t.equal(safeNext(next), '/', JSON.stringify(next))
  for (const value of [undefined, null, 42, ['/pulse'], { next: '/pulse' }]) t.equal(safeNext(value), '/', String(value))
})

t.test('safeNext keeps same-site paths, and what it returns passes it again unchanged', async (t) => {
  for (const [next, expected] of KEPT) t.equal(safeNext(next), expected, JSON.stringify(next))
  for (const next of [...REFUSED, ...KEPT.map(([next]) => next)]) {
    const once = safeNext(next)
    t.equal(safeNext(once), once, `stable: ${JSON.stringify(next)}`)
    t.notMatch(once, /^\/[/\\]/, `never two slashes at the start: ${JSON.stringify(next)}`)
  }
})

t.test('over HTTP: the Location of a login redirect is always a same-site path', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  const app = await buildTestApp({ redisUrl: redisServer.url, password: PASSWORD, routes: probeRoutes })
  t.teardown(() => app.close())
  const { cookie } = await login(app, { password: PASSWORD })

  // only a string reaches safeNext from a query; the bound on `next` is 2048 characters
  const asQuery = REFUSED.filter((next) => next.length <= 2048)
  for (const next of asQuery) {
    const response = await app.inject({ url: `/login?next=${encodeURIComponent(next)}`, headers: { cookie } })
    t.equal(response.statusCode, 303, `GET ${JSON.stringify(next)}`)
    t.equal(response.headers.location, '/', `GET ${JSON.stringify(next)} goes home`)
  }
  for (const [next, expected] of KEPT) {
    const response = await app.inject({ url: `/login?next=${encodeURIComponent(next)}`, headers: { cookie } })
    t.equal(response.headers.location, expected, `GET ${JSON.stringify(next)}`)
  }

  // the form post: a handful from each table, each a full login
  for (const next of ['/.//evil.example', '/..//x', '/%2e//x', '\\\\evil', '/\\evil', '/\t/evil.example', '/%5c/evil.example']) {
    const response = await submitLogin(app, { password: PASSWORD, next })
    t.equal(response.statusCode, 303, `POST ${JSON.stringify(next)}`)
    t.equal(response.headers.location, '/', `POST ${JSON.stringify(next)} goes home`)
  }
  const kept = await submitLogin(app, { password: PASSWORD, next: '/queues/service/billing/emails' })
  t.equal(kept.headers.location, '/queues/service/billing/emails')
})
