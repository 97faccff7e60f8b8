/**
 * Unknown URLs and failures of the console's own: a browser loading a page gets an HTML page with
 * the navigation (404, 500, no error text); API calls, htmx swaps, fragment URLs and clients that
 * do not ask for HTML keep JSON or plain answers, as before.
 */
import t, { type Test } from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { cookieHeader, submitLogin } from '../auth/helpers.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const SECRET = 'agent-text <script>alert(1)</script> internals'
const failing = (app: import('fastify').FastifyInstance) => {
  for (const url of ['/boom', '/api/boom', '/boom/fragments/part']) {
    app.get(url, async () => {
      throw new Error(SECRET)
    })
  }
}

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
const NAV = ['/pulse', '/queues', '/slow', '/problems', '/alerts', '/audit']

function hasNavigation(t: Test, html: string, what: string) {
  for (const href of NAV) t.match(html, `<li><a href="${href}"`, `${what}: navigation links to ${href}`)
  t.match(html, '<link rel="stylesheet" href="/assets/app.css">', `${what}: styled like every page`)
}

t.test('an open console: 404 and 500 pages for browsers, JSON or plain for the rest', async (t) => {
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, routes: failing, logLines })
  t.teardown(() => app.close())

  for (const url of ['/nope', '/pulse/billing/web-1/extra/segments', '/queues-typo?x=1', '/assets-nope/x.css']) {
    const page = await app.inject({ url, headers: BROWSER })
    t.equal(page.statusCode, 404, `${url}: 404`)
    t.match(page.headers['content-type'], /^text\/html/, `${url}: a page`)
    t.match(page.body, '<title>Not found · Zenith</title>')
    t.match(page.body, /There is no page at <code>\/[^<?]*<\/code>/, `${url}: names the path, without the query`)
    hasNavigation(t, page.body, url)
  }
  const escaped = await app.inject({ url: '/%3Cb%3Ehi%3C%2Fb%3E', headers: BROWSER })
  t.notMatch(escaped.body, '<b>hi</b>', 'the path is escaped')

  for (const [url, headers] of [
    ['/api/nope', BROWSER],
    ['/nope', {}],
    ['/nope', { accept: 'application/json' }],
    ['/nope', { ...BROWSER, 'hx-request': 'true' }],
    ['/fragments/nope', BROWSER],
  ] as const) {
    const answer = await app.inject({ url, headers })
    t.equal(answer.statusCode, 404, `${url} ${JSON.stringify(headers)}: 404`)
    t.match(answer.headers['content-type'], /^application\/json/, `${url}: JSON, as before`)
    t.match(answer.json(), { error: 'Not Found', statusCode: 404 })
  }
  const post = await app.inject({ method: 'POST', url: '/nope', headers: { ...BROWSER, origin: 'http://localhost' } })
  t.notMatch(String(post.headers['content-type'] ?? ''), /^text\/html/, 'a form post to nowhere is no page load')

  const failed = await app.inject({ url: '/boom', headers: BROWSER })
  t.equal(failed.statusCode, 500)
  t.match(failed.headers['content-type'], /^text\/html/)
  t.match(failed.body, '<title>Something went wrong · Zenith</title>')
  hasNavigation(t, failed.body, '/boom')
  t.notMatch(failed.body, 'agent-text', 'no error text on the page')
  const requestId = /request <code>([^<]+)<\/code>/.exec(failed.body)?.[1]
  t.ok(requestId, 'names the request')
  t.ok(
    logLines.some((line) => line.includes(SECRET.slice(0, 10)) && line.includes(`"reqId":"${requestId}"`)),
    'the error is logged under that request',
  )

  for (const [url, headers] of [
    ['/api/boom', BROWSER],
    ['/boom', {}],
    ['/boom', { ...BROWSER, 'hx-request': 'true' }],
    ['/boom/fragments/part', BROWSER],
  ] as const) {
    const answer = await app.inject({ url, headers })
    t.equal(answer.statusCode, 500, `${url}: 500`)
    t.notMatch(answer.headers['content-type'] ?? '', /^text\/html/, `${url} ${JSON.stringify(headers)}: no page`)
  }
})

t.test('a console with a login: unknown URLs ask for a login first, then show the page with the session', async (t) => {
  const PASSWORD = 'correct horse battery staple 42'
  const app = await buildTestApp({ redisUrl: redisServer.url, password: PASSWORD })
  t.teardown(() => app.close())
  const anonymous = await app.inject({ url: '/nope', headers: BROWSER })
  t.equal(anonymous.statusCode, 303, 'no page for a viewer who is not logged in')
  t.match(anonymous.headers.location, /^\/login/)
  const session = cookieHeader(await submitLogin(app, { password: PASSWORD }), 'zenith_session')
  const page = await app.inject({ url: '/nope', headers: { ...BROWSER, cookie: session } })
  t.equal(page.statusCode, 404)
  hasNavigation(t, page.body, 'logged in')
  t.match(page.body, 'action="/logout"', 'the layout knows the viewer')
})
