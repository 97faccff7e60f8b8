/**
 * Every route the app registers, found through onRoute (not a hand-kept list, so a new route is
 * covered the day it is added), answers with `Cache-Control: no-store`, whoever asks: logged in,
 * with the API token, anonymous. Only the static assets are cacheable.
 */
import t from 'tap'
import Fastify, { type InjectOptions, type RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { createKeys } from '@gravito/quasar/protocol'
import zenith from '../../server/app.js'
import { parseConfig } from '../../server/config.js'
import { useRedis } from '../helpers/redis-server.js'
import { fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { login } from '../auth/helpers.js'

const PASSWORD = 'a long shared password'
const API_TOKEN = 'api-token-0123456789'

const { server: redisServer, redis } = await useRedis(t)

const clock = fakeClock()
const keys = createKeys()
await redis.set(keys.node('billing', 'web-1'), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'web-1', service: 'billing', hostname: 'web-1' })), 'EX', 60)

const routes: RouteOptions[] = []
const app = Fastify({ logger: false })
app.addHook('onRoute', (route) => void routes.push(route))
const config = parseConfig({ selfMonitor: false, logLevel: 'silent', password: PASSWORD, apiToken: API_TOKEN, quasarToken: 'quasar-token-0123456789' })
await app.register(
  fp(async (scope) => {
    await zenith(scope, { config: { ...config, redisUrl: redisServer.url }, clock, autoStart: false })
    // the login helper reads the CSRF token pages carry from here
    scope.get('/test/locals', async (_request, reply) => reply.locals)
  }),
)
await app.ready()
t.teardown(() => app.close())
await app.collector.refresh()

/** A concrete URL for a route pattern: every parameter gets a plausible value. */
function urlFor(pattern: string): string {
  return pattern
    .replace(/\*$/, 'app.css')
    .replace(/:service/g, 'billing')
    .replace(/:nodeId|:node/g, 'web-1')
    .replace(/:queue/g, 'emails')
    .replace(/:id|:batchId|:jobId/g, '0123456789abcdef')
    .replace(/:[A-Za-z]+/g, 'x')
}

t.test('every route, every caller: no-store, except the static assets', async (t) => {
  const session = await login(app, { password: PASSWORD })
  const callers: Array<{ who: string; headers: Record<string, string> }> = [
    { who: 'session', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } },
    { who: 'token', headers: { authorization: `Bearer ${API_TOKEN}` } },
    { who: 'anonymous', headers: {} },
  ]
  const table = routes.filter((route) => route.url !== '/test/locals')
  t.ok(table.length >= 25, `${table.length} routes found`)

  const statuses = new Map<number, number>()
  for (const route of table) {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((method) => method !== 'OPTIONS')
    for (const method of methods) {
      for (const caller of callers) {
        const write = method !== 'GET' && method !== 'HEAD'
        const response = await app.inject({
          // light-my-request types only the seven common methods; the routes here use no other
          method: method as InjectOptions['method'],
          url: urlFor(route.url),
          headers: { ...caller.headers, ...(write ? { 'content-type': 'application/json' } : {}) },
          ...(write ? { payload: '{}' } : {}),
        })
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
        const label = `${caller.who} ${method} ${route.url} (${response.statusCode})`
        if (route.url === '/assets/*') {
          t.notMatch(String(response.headers['cache-control'] ?? ''), /no-store/, `${label}: assets stay cacheable`)
        } else {
          t.equal(response.headers['cache-control'], 'no-store', label)
        }
      }
    }
  }
  // the header was checked on real content, not only on refusals
  t.ok((statuses.get(200) ?? 0) >= 20, `200 answers: ${statuses.get(200)}`)
  t.ok((statuses.get(303) ?? 0) + (statuses.get(401) ?? 0) >= 10, 'login redirects and 401s')
})

t.test('the pages a person sees, and the login form, carry no-store; a vendored script is cached', async (t) => {
  const session = await login(app, { password: PASSWORD })
  for (const url of ['/pulse', '/pulse?service=billing', '/queues', '/alerts', '/audit', '/fragments/pulse/nodes', '/api/pulse/nodes']) {
    const response = await app.inject({ url, headers: { cookie: session.cookie } })
    t.equal(response.statusCode, 200, url)
    t.equal(response.headers['cache-control'], 'no-store', url)
  }
  const form = await app.inject({ url: '/login' })
  t.equal(form.headers['cache-control'], 'no-store')
  const asset = await app.inject({ url: '/assets/zenith.js' })
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['cache-control'], /max-age=3600/)
})
