/**
 * The history API and the node page through `inject`, against a real Redis: shapes, validation,
 * 404s, queue history fed by a queues collector part, and the page's markup.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { beat, historyApi } from './helpers.js'
import type { CollectorPart } from '../../server/collector/snapshot.js'
import type { QueuesPart } from '../../server/queues/records.js'

const { server: redisServer, redis } = await useRedis(t)

const clock = fakeClock()
/** what the queues part reports at the next tick */
let queues: QueuesPart = { items: [] }
const app: FastifyInstance = await buildTestApp({
  redisUrl: redisServer.url,
  clock,
  graceMs: 60_000,
  // a queues part of the queue area's type, without the queue area's readers
  routes: (scope) => scope.collector.addPart({ key: 'queues', initial: { items: [] }, collect: async () => queues } satisfies CollectorPart<'queues'>),
})
t.teardown(() => app.close())

// ten minutes of a live node and a queue, one tick per 10 s
for (let i = 0; i < 60; i++) {
  await beat(redis, clock(), { cpu: 20 + (i % 3) }, 'billing', 'node-1', { hostname: '<b>web-1</b>' })
  queues = { items: [{ service: 'billing', name: 'emails', driver: 'bullmq', source: 'agent', commands: [], waiting: i, active: null, delayed: null, failed: Math.floor(i / 10), throughput: 12.5, timestamp: clock() }] }
  await app.collector.refresh()
  clock.advance(10_000)
}

t.test('node history: shape of each range', async (t) => {
  for (const [range, bucketMs, count] of [
    ['1h', 10_000, 60],
    ['6h', 60_000, 10],
    ['24h', 60_000, 10],
    ['7d', 600_000, 1],
  ] as const) {
    const { status, body } = await historyApi(app, `/api/pulse/nodes/billing/node-1/history?range=${range}`)
    t.equal(status, 200, range)
    t.equal(body.range, range)
    t.equal(body.bucketMs, bucketMs)
    t.equal(body.points.length, count, `${range}: ${count} points`)
    const times = body.points.map((p) => p.t)
    t.same(
      times,
      [...times].sort((a, b) => a - b),
      'oldest first',
    )
    for (const key of ['cpuSystem', 'cpuProcess', 'memoryUsedPct', 'rss', 'lagMs']) t.type(body.points[0]![key], 'number', `${range} ${key}`)
  }
  const { body } = await historyApi(app, '/api/pulse/nodes/billing/node-1/history')
  t.equal(body.range, '1h', 'the range defaults to the last hour')
  t.same(
    body.points.slice(0, 3).map((p) => p.cpuSystem),
    [20, 21, 22],
  )
  t.notOk('max' in body.points[0]!, 'raw points have no max')
  const six = await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=6h')
  t.same(six.body.points[0]!.max, { cpuSystem: 22, cpuProcess: 10, memoryUsedPct: 62.5, rss: 143 * 1024 * 1024, lagMs: 1.5 }, 'rollups carry the max')
  t.equal(six.body.points[0]!.cpuSystem, 21)
})

t.test('history API validation', async (t) => {
  const bad = [
    '/api/pulse/nodes/billing/node-1/history?range=2h',
    '/api/pulse/nodes/billing/node-1/history?range=1H',
    '/api/pulse/nodes/billing/node-1/history?range=',
    '/api/pulse/nodes/billing/node-1/history?range=1h&range=6h',
    '/api/pulse/nodes/bil:ling/node-1/history',
    '/api/pulse/nodes/billing/no%2Ade/history',
    `/api/pulse/nodes/billing/${'n'.repeat(65)}/history`,
    '/api/pulse/queues/billing/em%0Aails/history',
    '/api/pulse/queues/billing/emails/history?range=30d',
  ]
  for (const url of bad) {
    const response = await app.inject({ url })
    t.equal(response.statusCode, 400, url)
    t.match(response.json().message, /^invalid /, `${url} says what is wrong`)
  }
})

t.test('unknown node or queue with no history: 404', async (t) => {
  const node = await historyApi(app, '/api/pulse/nodes/billing/ghost/history?range=1h')
  t.equal(node.status, 404)
  t.match(node.body.message, /no node billing\/ghost/)
  const queue = await historyApi(app, '/api/pulse/queues/billing/ghost/history')
  t.equal(queue.status, 404)
})

t.test('queue history from the queues part', async (t) => {
  const { status, body } = await historyApi(app, '/api/pulse/queues/billing/emails/history?range=1h')
  t.equal(status, 200)
  t.equal(body.points.length, 60)
  t.same(body.points[59], { t: body.points[59]!.t, waiting: 59, failed: 5, throughput: 12.5 })
  const sixHours = await historyApi(app, '/api/pulse/queues/billing/emails/history?range=6h')
  t.same(sixHours.body.points[0], { t: sixHours.body.points[0]!.t, waiting: 2.5, failed: 0, throughput: 12.5, max: { waiting: 5, failed: 0, throughput: 12.5 } })
  t.equal(app.history.recentQueue('billing', 'emails').length, 30)
})

t.test('the node page', async (t) => {
  const response = await app.inject({ url: '/pulse/billing/node-1' })
  t.equal(response.statusCode, 200)
  const html = response.body
  t.match(html, 'data-chart-url="/charts/nodes/billing/node-1?range=1h"')
  t.match(html, 'data-chart-kind="node"')
  t.match(html, '&lt;b&gt;web-1&lt;/b&gt;', 'agent text is escaped')
  t.notMatch(html, '<b>web-1</b>')
  t.match(html, 'hx-get="/pulse/billing/node-1/fragments/details"')
  t.match(html, /<a href="\/pulse\/billing\/node-1\?range=1h" aria-current="true">1 h<\/a>/)
  for (const tag of html.match(/<script\b[^>]*>/g) ?? []) t.match(tag, / src="\/assets\//, `no inline script: ${tag}`)
  t.notMatch(html, / style=/, 'no style attribute')

  const week = await app.inject({ url: '/pulse/billing/node-1?range=7d' })
  t.match(week.body, '/charts/nodes/billing/node-1?range=7d"')
  t.match(week.body, /<a href="\/pulse\/billing\/node-1\?range=7d" aria-current="true">7 d<\/a>/)
  t.equal((await app.inject({ url: '/pulse/billing/node-1?range=1y' })).statusCode, 400)
  t.equal((await app.inject({ url: '/pulse/bil*ling/node-1' })).statusCode, 400)
  const unknown = await app.inject({ url: '/pulse/billing/ghost' })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.body, 'no history of it is kept')
})

t.test('the details fragment answers 304 while the snapshot is unchanged', async (t) => {
  const first = await app.inject({ url: '/pulse/billing/node-1/fragments/details' })
  t.equal(first.statusCode, 200)
  t.match(first.body, 'badge-fresh')
  t.notMatch(first.body, '<html')
  const again = await app.inject({ url: '/pulse/billing/node-1/fragments/details', headers: { 'if-none-match': String(first.headers.etag) } })
  t.equal(again.statusCode, 304)
})

t.test('a node past its grace period keeps its page while history is kept', async (t) => {
  await redis.del('gravito:quasar:node:billing:node-1')
  await app.collector.refresh()
  // the grace period runs from when the console saw the key gone
  clock.advance(5 * 60_000)
  await app.collector.refresh()
  const page = await app.inject({ url: '/pulse/billing/node-1' })
  t.equal(page.statusCode, 200)
  t.match(page.body, 'is not reporting any more')
  const history = await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=1h')
  t.equal(history.status, 200)
  t.equal(history.body.points.length, 60)
  clock.advance(2 * 3_600_000)
  const later = await historyApi(app, '/api/pulse/nodes/billing/node-1/history?range=1h')
  t.equal(later.status, 200, 'no points in the range but history kept: still 200')
  t.same(later.body.points, [])
})
