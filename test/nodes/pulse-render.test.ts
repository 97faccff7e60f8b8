/**
 * The pulse page rendered through the app (`inject`) from heartbeats written into a real Redis,
 * with a fake clock so ages are exact: the page and its polled fragment, large groups, the empty
 * state, the layout, and Redis going down. The cards themselves: card-render.test.ts.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startRedis, useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { indexedBeat, keys, pollRegion, renderingApp } from './render.js'

const { server: redisServer, redis } = await useRedis(t)

t.beforeEach(async () => {
  await redis.flushall()
})

const beat = (service: string, nodeId: string, payload: Record<string, unknown>, at: number) => indexedBeat(redis, service, nodeId, payload, at)
const setup = (t: Test, options: { graceMs?: number } = {}) => renderingApp(t, redisServer.url, options)

t.test('the page region and the polled fragment are the same markup', async (t) => {
  const { app, clock } = await setup(t)
  await beat('billing', 'node-1', sampleHeartbeat({ timestamp: clock() }), clock())
  await beat('api', 'api-1', { timestamp: clock(), hostname: 'api-host' }, clock())
  await app.collector.refresh()

  for (const filter of ['', 'api']) {
    const query = filter ? `?service=${filter}` : ''
    const page = await app.inject(`/pulse${query}`)
    const fragment = await app.inject(`/fragments/pulse/nodes${query}`)
    t.equal(fragment.statusCode, 200)
    t.equal(pollRegion(page.body), fragment.body, `identical for filter "${filter}"`)
    t.match(page.body, `hx-get="/fragments/pulse/nodes${query}" hx-trigger="every 3s" hx-swap="innerMorph"`)

    const again = await app.inject({ url: `/fragments/pulse/nodes${query}`, headers: { 'if-none-match': fragment.headers.etag as string } })
    t.equal(again.statusCode, 304, 'an unchanged fragment is not sent again')
    t.equal(again.body, '')
  }

  const filtered = await app.inject('/pulse?service=api')
  t.match(filtered.body, '<option value="api" selected>api</option>')
  t.match(filtered.body, '<option value="billing">billing</option>')
  t.notMatch(filtered.body, 'id="node:billing:node-1"', 'the filter hides other services')
  t.match(filtered.body, 'id="node:api:api-1"')
})

t.test('a fleet larger than a page shows its problem nodes and collapses the healthy ones into a service row', async (t) => {
  const { app, clock } = await setup(t)
  const write = async (from: number, to: number) => {
    const pipeline = redis.pipeline()
    for (let i = from; i < to; i++) {
      const nodeId = `n${String(i).padStart(3, '0')}`
      pipeline.set(keys.node('big', nodeId), JSON.stringify({ timestamp: clock(), hostname: `h-${nodeId}` }), 'EX', 30)
      pipeline.zadd(keys.nodeIndex(), clock(), keys.indexMember('big', nodeId))
    }
    await pipeline.exec()
  }
  // n070 and later were read 20 s ago and have not beaten since: stale
  await write(70, 75)
  await app.collector.refresh()
  clock.advance(20_000)
  await write(0, 70)
  await app.collector.refresh()

  const body = (await app.inject('/pulse')).body
  const ids = [...body.matchAll(/id="node:big:(n\d+)"/g)].map((m) => m[1])
  t.same(ids, ['n070', 'n071', 'n072', 'n073', 'n074'], 'only the stale nodes have cards')
  t.match(
    body,
    /<tr id="service:big" class="service-row service-stale">\s*<th scope="row"><a class="fleet-name" href="\/pulse\?service=big">big<\/a><\/th>\s*<td>75<\/td>/,
    'the service row counts every node and links to them',
  )
  t.match(body, '<span class="count-fresh">70 fresh</span> <span class="count-stale">5 stale</span>')
  t.match(body, '<b>75</b> nodes</a></li>')
  const opened = (await app.inject('/pulse?service=big')).body
  t.match(opened, '<a href="/pulse?service=big&amp;page=2" rel="next">next &rarr;</a>', 'an entity, not the character: one character outside Latin-1 doubles the memory of the whole rendered string')
  t.same([...opened.matchAll(/id="node:big:(n\d+)"/g)].map((m) => m[1]).slice(0, 7), ['n070', 'n071', 'n072', 'n073', 'n074', 'n000', 'n001'], 'the service opened: stale first, then by id')
})

t.test('no nodes: an empty state that says how to connect one', async (t) => {
  const { app } = await setup(t)
  await app.collector.refresh()
  const body = (await app.inject('/pulse')).body
  t.match(body, 'No nodes yet.')
  t.match(body, '<option value="" selected>All services</option>')
  const filtered = (await app.inject('/pulse?service=ghost')).body
  t.match(filtered, 'No nodes of service <b>ghost</b> right now.')
  t.match(filtered, '<option value="ghost" selected>ghost (no nodes)</option>')
})

t.test('the layout: nav, assets, htmx config', async (t) => {
  const { app } = await setup(t)
  await app.collector.refresh()
  const body = (await app.inject('/pulse')).body
  t.match(body, /^<!doctype html>/)
  t.match(body, '<title>Pulse · Zenith</title>')
  t.match(body, '<a href="/pulse" aria-current="page">Pulse</a>')
  for (const [label, href] of [
    ['Queues', '/queues'],
    ['Slow', '/slow'],
    ['Alerts', '/alerts'],
    ['Audit', '/audit'],
  ]) {
    t.match(body, `<a href="${href}">${label}</a>`)
  }
  t.match(body, /<script src="\/assets\/vendor\/htmx-[\d.]+\.min\.js" defer><\/script>/)
  t.match(body, '<link rel="stylesheet" href="/assets/app.css">')
  const config = JSON.parse(/<meta name="htmx-config" content='([^']*)'>/.exec(body)![1]!)
  t.match(config, { mode: 'same-origin', includeIndicatorCSS: false })
  t.ok(config.noSwap.includes(304), 'a 304 never blanks the region')
  t.match(body, '<form class="filter" method="get" action="/pulse"', 'the filter works without JavaScript')

  for (const asset of ['/assets/app.css', '/assets/zenith.js', '/assets/favicon.svg']) {
    t.equal((await app.inject(asset)).statusCode, 200, asset)
  }
})

t.test('Redis down: a banner with the time it went down', async (t) => {
  const ownRedis = await startRedis()
  t.teardown(() => ownRedis.stop())
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: ownRedis.url, clock })
  t.teardown(() => app.close())
  const writer = new Redis(ownRedis.url)
  await writer.set(keys.node('api', 'n1'), JSON.stringify(sampleHeartbeat({ timestamp: clock(), hostname: 'before-outage' })), 'EX', 30)
  await writer.quit()
  await app.collector.refresh()
  t.notMatch((await app.inject('/pulse')).body, 'Redis unreachable')

  await ownRedis.kill()
  await app.collector.refresh()
  clock.advance(125_000)
  await app.collector.refresh()

  for (const url of ['/pulse', '/fragments/pulse/nodes']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 200)
    t.match(response.body, '<div class="banner banner-error" role="alert">')
    t.match(response.body, 'Redis unreachable since <time datetime="2026-11-23T12:00:00.000Z">12:00:00 UTC</time> (2 min ago)')
    t.match(response.body, '>before-outage</a></h3>', 'the last snapshot is still shown')
  }
})
