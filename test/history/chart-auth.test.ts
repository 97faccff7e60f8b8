/**
 * Charts read their data with the page's authorisation: with an API token on a console without a
 * login, a node page and its chart data both answer 200 (the data URL is the one the page names),
 * while `/api` still wants the token; with a login and no session, page and chart data are both
 * refused, the chart data with a 401 its fetch can read rather than a redirect to the login form.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { beat } from './helpers.js'
import { login, probeRoutes } from '../auth/helpers.js'
import type { CollectorPart } from '../../server/collector/snapshot.js'
import type { QueuesPart } from '../../server/queues/records.js'

const { server: redisServer, redis } = await useRedis(t)
const TOKEN = 'tok_0123456789abcdef0123'
const PASSWORD = 'chart password 123'

async function seededApp(extra: { password?: string }): Promise<FastifyInstance> {
  const clock = fakeClock()
  const queues: QueuesPart = { items: [{ service: 'billing', name: 'emails', driver: 'bullmq', source: 'agent', commands: [], waiting: 3, active: null, delayed: null, failed: 1, throughput: 2, timestamp: clock() }] }
  const app = await buildTestApp({
    redisUrl: redisServer.url,
    clock,
    apiToken: TOKEN,
    ...extra,
    routes: async (scope) => {
      probeRoutes(scope)
      scope.collector.addPart({ key: 'queues', initial: { items: [] }, collect: async () => queues } satisfies CollectorPart<'queues'>)
    },
  })
  t.teardown(() => app.close())
  for (let i = 0; i < 5; i++) {
    await beat(redis, clock(), { cpu: 30 + i }, 'billing', 'node-1')
    await app.collector.refresh()
    clock.advance(10_000)
  }
  return app
}

function chartUrlOf(html: string): string {
  const match = /data-chart-url="([^"]+)"/.exec(html)
  if (!match) throw new Error('no chart on the page')
  return match[1]!.replace(/&amp;/g, '&')
}

t.test('token set, no login: the page and its chart data answer, the API still wants the token', async (t) => {
  const app = await seededApp({})
  for (const range of ['1h', '6h']) {
    const page = await app.inject({ url: `/pulse/billing/node-1?range=${range}` })
    t.equal(page.statusCode, 200, `node page ${range}`)
    const url = chartUrlOf(page.body)
    t.notMatch(url, /^\/api\//, 'the page does not read its charts from the token-protected API')
    const data = await app.inject({ url, headers: { accept: 'application/json' } })
    t.equal(data.statusCode, 200, `chart data ${url}`)
    const body = data.json() as { range: string; points: { cpuSystem: number }[] }
    t.equal(body.range, range)
    t.ok(body.points.length > 0, 'with the samples recorded')
  }
  const queueData = await app.inject({ url: '/charts/queues/billing/emails?range=1h' })
  t.equal(queueData.statusCode, 200, 'queue chart data')
  t.ok((queueData.json() as { points: unknown[] }).points.length > 0)

  for (const url of ['/api/pulse/nodes/billing/node-1/history', '/api/pulse/queues/billing/emails/history']) {
    t.equal((await app.inject({ url })).statusCode, 401, `${url} without the token`)
    t.equal((await app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200, `${url} with the token`)
  }
  t.equal((await app.inject({ url: '/charts/nodes/billing/nobody' })).statusCode, 404, 'an unknown node is still a 404')
})

t.test('login enabled, no session: page and chart data are refused; a session opens both', async (t) => {
  const app = await seededApp({ password: PASSWORD })
  const page = await app.inject({ url: '/pulse/billing/node-1' })
  t.equal(page.statusCode, 303, 'the page sends to the login form')
  for (const url of ['/charts/nodes/billing/node-1?range=1h', '/charts/queues/billing/emails']) {
    const data = await app.inject({ url, headers: { accept: 'application/json' } })
    t.equal(data.statusCode, 401, `${url} refused`)
    t.equal(data.headers.location, undefined, 'not a redirect the fetch would follow')
    t.match(data.json(), { error: 'Unauthorized' })
  }
  t.equal((await app.inject({ url: '/charts/nodes/billing/node-1', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 401, 'the API token does not open page-side data')

  const { cookie } = await login(app, { password: PASSWORD })
  const signedIn = await app.inject({ url: '/pulse/billing/node-1', headers: { cookie } })
  t.equal(signedIn.statusCode, 200)
  t.equal((await app.inject({ url: chartUrlOf(signedIn.body), headers: { cookie } })).statusCode, 200, 'chart data with the session')
})
