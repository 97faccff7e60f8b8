/**
 * Rate limits on the JSON API and on commands: per token or session, not per address (every
 * request here comes from the same address), with 429 and Retry-After; pages and probes are not
 * limited. Small limits, so a budget runs out in a few requests.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { FORM, login, probeRoutes } from '../auth/helpers.js'

const PASSWORD = 'a long shared password'
const API_TOKEN = 'api-token-0123456789'
const API_LIMIT = 5
const COMMAND_LIMIT = 3
const COMMAND = JSON.stringify({ service: 'billing', nodeId: 'worker-1', type: 'RETRY_JOB', queue: 'emails', jobId: '1' })

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

async function limitedApp(t: Test, extra: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const app = await buildTestApp({ redisUrl: redisServer.url, apiRateLimit: API_LIMIT, commandRateLimit: COMMAND_LIMIT, quasarToken: 'quasar-token-0123456789', routes: probeRoutes, ...extra })
  t.teardown(() => app.close())
  await app.collector.refresh()
  return app
}

const statuses = async (app: FastifyInstance, n: number, request: InjectOptions) => {
  const codes: number[] = []
  for (let i = 0; i < n; i++) codes.push((await app.inject(request)).statusCode)
  return codes
}

t.test('the API: each token and each session has its own budget, then 429 with Retry-After', async (t) => {
  const app = await limitedApp(t, { password: PASSWORD, apiToken: API_TOKEN })
  const token = { authorization: `Bearer ${API_TOKEN}` }
  t.same(await statuses(app, API_LIMIT, { url: '/api/pulse/nodes', headers: token }), Array(API_LIMIT).fill(200), 'the token, up to its limit')
  const refused = await app.inject({ url: '/api/pulse/queues', headers: token })
  t.equal(refused.statusCode, 429, 'one more, on another API route: the budget is the caller’s, not the route’s')
  t.ok(Number(refused.headers['retry-after']) > 0, `Retry-After: ${refused.headers['retry-after']}`)
  t.match(refused.json(), { statusCode: 429, message: /at most 5 a minute for each token or session/ })
  t.equal(refused.headers['cache-control'], 'no-store')

  // two sessions from the same address as the token: untouched budgets
  const first = await login(app, { password: PASSWORD })
  const second = await login(app, { password: PASSWORD })
  t.same(await statuses(app, API_LIMIT, { url: '/api/pulse/nodes', headers: { cookie: first.cookie } }), Array(API_LIMIT).fill(200), 'first session')
  t.equal((await app.inject({ url: '/api/pulse/nodes', headers: { cookie: first.cookie } })).statusCode, 429)
  t.same(await statuses(app, API_LIMIT, { url: '/api/pulse/nodes', headers: { cookie: second.cookie } }), Array(API_LIMIT).fill(200), 'second session')

  // pages, fragments and probes are not limited, for the session whose API budget is spent
  for (const url of ['/pulse', '/fragments/pulse/nodes', '/queues', '/livez']) {
    t.same(await statuses(app, 3 * API_LIMIT, { url, headers: { cookie: first.cookie } }), Array(3 * API_LIMIT).fill(200), url)
  }
  // a wrong token is refused by auth (401) and spends nobody's budget
  t.equal((await app.inject({ url: '/api/pulse/nodes', headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode, 401)
})

t.test('commands: a budget of their own, for the JSON API and the forms alike', async (t) => {
  const app = await limitedApp(t, { password: PASSWORD, apiToken: API_TOKEN })
  const token = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' }
  const sent = await statuses(app, COMMAND_LIMIT, { method: 'POST', url: '/api/pulse/command', headers: token, payload: COMMAND })
  t.notOk(sent.includes(429), `within the limit: ${sent.join(', ')}`)
  const refused = await app.inject({ method: 'POST', url: '/api/pulse/command', headers: token, payload: COMMAND })
  t.equal(refused.statusCode, 429)
  t.ok(Number(refused.headers['retry-after']) > 0)
  t.match(refused.json(), { message: /too many commands/ })
  t.equal((await app.inject({ url: '/api/pulse/nodes', headers: token })).statusCode, 200, 'reads have their own budget')

  const session = await login(app, { password: PASSWORD })
  const form = { method: 'POST' as const, url: '/commands/retry', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': FORM }, payload: 'service=billing&nodeId=worker-1&queue=emails&jobId=1' }
  const posted = await statuses(app, COMMAND_LIMIT, form)
  t.notOk(posted.includes(429), `the session's forms, within the limit: ${posted.join(', ')}`)
  t.equal((await app.inject(form as InjectOptions)).statusCode, 429, 'then 429')
  // a forged form (no CSRF token) is refused before it counts
  const forged = await statuses(app, 5, { ...form, headers: { cookie: session.cookie, 'content-type': FORM } })
  t.same(forged, [403, 403, 403, 403, 403])
  // logging in and out is never limited here (the login form has its own limiter)
  t.equal((await app.inject({ method: 'POST', url: '/logout', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } })).statusCode, 303)
})

t.test('an open console: no token or session, so each address has its budget', async (t) => {
  const app = await limitedApp(t)
  t.same(await statuses(app, API_LIMIT, { url: '/api/pulse/nodes', remoteAddress: '10.0.0.1' }), Array(API_LIMIT).fill(200))
  t.equal((await app.inject({ url: '/api/pulse/nodes', remoteAddress: '10.0.0.1' })).statusCode, 429)
  t.equal((await app.inject({ url: '/api/pulse/nodes', remoteAddress: '10.0.0.2' })).statusCode, 200, 'another address')
})

t.test('the limits come from the config; the defaults are generous', async (t) => {
  const { parseConfig } = await import('../../server/config.js')
  t.match(parseConfig({}), { apiRateLimit: 600, commandRateLimit: 60 })
  t.throws(() => parseConfig({ apiRateLimit: 0 }))
})
