/**
 * The console's slow area against a real Redis: streams written by the SDK and by hand (as any
 * agent may), read incrementally into the snapshot; groups with count, p95 and max on known data;
 * bad entries and wrong-type keys skipped; agent strings escaped on the page.
 */
import t from 'tap'
import { createKeys } from '@gravito/quasar/protocol'
import { startPulse } from '@gravito/quasar'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { percentile } from '../../server/slow/service.js'
import { PERCENTILE_ERROR_RATIO } from '../../server/slow/histogram.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

async function add(service: string, fields: Record<string, string | number>) {
  return redis.xadd(keys.slow(service), '*', ...Object.entries(fields).flatMap(([k, v]) => [k, String(v)]))
}

t.test('groups: count, p95 and max per name, slowest first; latest entries newest first', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  // 20 runs of one report, 1..20 s: p95 (nearest rank) is the 19th, 19 s
  for (let i = 1; i <= 20; i++) await add('billing', { kind: 'request', name: 'GET /report', durationMs: i * 1000, timestamp: clock() + i, nodeId: 'web-1', status: 200, method: 'GET' })
  await add('billing', { kind: 'job', name: 'invoice', durationMs: 1500, timestamp: clock() + 50, nodeId: 'w-1', queue: 'invoices', jobId: '7', attempts: 2, error: 'timeout' })
  await add('mailer', { kind: 'job', name: 'send', durationMs: 30_000, timestamp: clock() + 60, nodeId: 'm-1' })
  // a tick reads at most 20 entries per stream: billing's 21 take two
  await app.collector.refresh()
  await app.collector.refresh()

  const api = (await app.inject('/api/pulse/slow')).json()
  t.same(
    api.groups.map((g: any) => [g.service, g.kind, g.name, g.count, g.maxMs]),
    [
      ['mailer', 'job', 'send', 1, 30_000],
      ['billing', 'request', 'GET /report', 20, 20_000],
      ['billing', 'job', 'invoice', 1, 1500],
    ],
  )
  // percentiles come from a log-bucket histogram: within its documented bound of the exact value
  const [send, report, invoice] = api.groups
  t.equal(send.p95Ms, 30_000, 'a single entry is its own p95')
  t.equal(invoice.p95Ms, 1500)
  t.ok(Math.abs(Math.log(report.p95Ms / 19_000)) <= Math.log(PERCENTILE_ERROR_RATIO), `p95 ${report.p95Ms} within the bound of 19 s`)
  t.equal(api.entries.length, 22)
  t.match(api.entries[0], { service: 'mailer', name: 'send' })
  t.match(api.entries[1], { service: 'billing', kind: 'job', queue: 'invoices', jobId: '7', attempts: 2, error: 'timeout' })

  const billing = (await app.inject('/api/pulse/slow?service=billing&kind=job')).json()
  t.same(
    billing.entries.map((e: any) => e.name),
    ['invoice'],
  )
  t.equal((await app.inject('/api/pulse/slow?kind=query')).statusCode, 400)
  t.equal((await app.inject('/api/pulse/slow?service=no*pe')).statusCode, 400)

  // incremental: only new entries are read, and they join the rest
  await add('billing', { kind: 'request', name: 'GET /report', durationMs: 50_000, timestamp: clock() + 70, nodeId: 'web-2' })
  await app.collector.refresh()
  const after = (await app.inject('/api/pulse/slow?service=billing&kind=request')).json()
  t.match(after.groups[0], { count: 21, maxMs: 50_000 })

  const page = await app.inject('/slow?service=billing')
  t.equal(page.statusCode, 200)
  t.match(page.body, /<title>Slow · Zenith<\/title>/)
  t.match(page.body, /hx-get="\/slow\/fragments\/board\?service=billing"/)
  t.match(page.body, /GET \/report/)
  const fragment = await app.inject('/slow/fragments/board?service=billing&kind=job')
  t.equal(fragment.statusCode, 200)
  t.match(fragment.body, /invoice/)
  t.notMatch(fragment.body, /GET \/report/)
  const again = await app.inject({ url: '/slow/fragments/board?service=billing&kind=job', headers: { 'if-none-match': fragment.headers.etag as string } })
  t.equal(again.statusCode, 304)
})

t.test('bad entries and wrong-type keys are skipped, the rest kept; agent strings escaped', async (t) => {
  await redis.flushall()
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, logLines })
  t.teardown(() => app.close())
  const now = Date.now()
  await add('shop', { kind: 'request', name: '<script>alert(1)</script>', durationMs: 2000, timestamp: now, nodeId: 'n1', error: '"><img src=x onerror=alert(2)>' })
  await add('shop', { kind: 'query', name: 'x', durationMs: 1, timestamp: now, nodeId: 'n1' })
  await add('shop', { kind: 'job', durationMs: 1, timestamp: now, nodeId: 'n1' })
  await add('shop', { kind: 'job', name: 'x', durationMs: 'slow', timestamp: now, nodeId: 'n1' })
  await add('shop', { kind: 'job', name: 'x', durationMs: -5, timestamp: now, nodeId: 'n1' })
  await add('shop', { kind: 'job', name: 'y'.repeat(5000), durationMs: 1200, timestamp: now, nodeId: 'bad node id' })
  await redis.hset(keys.slow('hashed'), 'kind', 'job')
  await redis.set(keys.slow('stringy'), 'x')
  await redis.xadd(`${keys.prefix}slow:bad*name`, '*', 'kind', 'job')
  await app.collector.refresh()

  const api = (await app.inject('/api/pulse/slow')).json()
  t.same(api.entries.map((e: any) => e.name.length).sort(), [25, 256], 'the good entry and the long one (cut to 256) kept')
  t.ok(api.entries.every((e: any) => e.service === 'shop'))
  t.equal(api.entries.find((e: any) => e.name.startsWith('y')).nodeId, 'unknown', 'an invalid node id is not shown as given')
  const skipped = logLines.filter((line) => line.includes('skipped bad agent data'))
  t.ok(
    skipped.some((line) => line.includes('not a stream') && line.includes('hashed')),
    'a hash at a slow key is skipped and logged',
  )
  t.ok(skipped.some((line) => line.includes('kind is not request or job')))
  t.ok(skipped.some((line) => line.includes('durationMs')))
  t.ok(skipped.some((line) => line.includes('outside the name rule')))

  const page = (await app.inject('/slow')).body
  t.notMatch(page, '<script>alert(1)', 'a name cannot inject markup')
  t.notMatch(page, '<img src=x', 'an error cannot break out of its element')
  t.match(page, '&lt;script&gt;alert(1)&lt;/script&gt;')
})

t.test('records from the SDK reach the page', async (t) => {
  await redis.flushall()
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  const agent = startPulse({ service: 'sdk-app', nodeId: 's1', url: redisServer.url })
  t.teardown(() => agent.stop())
  agent.recordSlow({ kind: 'request', name: 'POST /checkout', durationMs: 4321, method: 'POST', status: 502 })
  await eventually(async () => {
    await agent.flushSlow()
    await app.collector.refresh()
    return (await app.inject('/api/pulse/slow?service=sdk-app')).json().entries.length === 1
  }, 'the record in the snapshot')
  const page = (await app.inject('/slow?service=sdk-app')).body
  t.match(page, 'POST /checkout')
  t.match(page, 'HTTP 502')
})

t.test('percentile is nearest-rank', async (t) => {
  t.equal(percentile([], 95), 0)
  t.equal(percentile([7], 95), 7)
  t.equal(percentile([1, 2, 3, 4], 50), 2)
  t.equal(
    percentile(
      Array.from({ length: 100 }, (_, i) => i + 1),
      95,
    ),
    95,
  )
})
