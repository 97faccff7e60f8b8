/**
 * The pulse templates rendered through the app (`inject`) from heartbeats written into a real
 * Redis, with a fake clock so ages and health are exact.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { createKeys } from '@gravito/quasar/protocol'
import { startRedis, useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { viewHelpers } from '../../server/nodes/view-helpers.js'
import type { PulseView } from '../../server/nodes/service.js'

const keys = createKeys()
const { server: redisServer, redis } = await useRedis(t)

t.beforeEach(async () => {
  await redis.flushall()
})

/** Writes a heartbeat the way the SDK does: the key with its expiry, and the index entry. */
async function beat(service: string, nodeId: string, payload: Record<string, unknown>, at: number) {
  await redis.multi().set(keys.node(service, nodeId), JSON.stringify(payload), 'EX', 30).zadd(keys.nodeIndex(), at, keys.indexMember(service, nodeId)).exec()
}

async function setup(t: Test, options: { graceMs?: number } = {}) {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, ...options })
  t.teardown(() => app.close())
  return { app, clock }
}

/** The HTML of one node card, by its DOM id. */
function card(html: string, service: string, nodeId: string): string {
  const at = html.indexOf(`id="node:${service}:${nodeId}"`)
  if (at < 0) throw new Error(`card ${service}:${nodeId} is not on the page`)
  const start = html.lastIndexOf('<article ', at)
  return html.slice(start, html.indexOf('</article>', start) + '</article>'.length)
}

/** The content of the polled region of the full page. */
function pollRegion(page: string): string {
  const open = page.indexOf('<div id="pulse-nodes"')
  const start = page.indexOf('>', open) + 2 // the tag and its newline
  const end = page.lastIndexOf('</div>\n  </main>')
  return page.slice(start, end)
}

t.test('a node with every field', async (t) => {
  const { app, clock } = await setup(t)
  await beat('billing', 'node-1', {
    ...sampleHeartbeat({ timestamp: clock() - 4000 }),
    runtime: { uptime: 3 * 86_400 + 4 * 3600 + 12, framework: 'fastify' },
    queues: [{ name: 'emails', driver: 'bullmq', metrics: { waiting: 1234, active: 2, failed: 7 } }],
  }, clock())
  await app.collector.refresh()
  // ages count from when the console read the beat, not from the beat's own timestamp
  clock.advance(4000)
  await app.collector.refresh()

  const page = await app.inject('/pulse')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const html = card(page.body, 'billing', 'node-1')
  t.match(html, 'class="node node-fresh"')
  t.match(html, '<span class="badge badge-fresh">Fresh</span>', 'health has text, not only a colour')
  t.match(html, '<span class="rt rt-node" title="Node.js 20.20.2">node</span>')
  t.match(html, '<h3 class="node-host" title="web-1"><a href="/pulse/billing/node-1">web-1</a></h3>', 'the hostname links to the node page')
  t.match(html, '>node-1</p>')
  t.match(html, '<dd>4242</dd>')
  t.match(html, '<dd>3d 4h</dd>')
  t.match(html, '>1.2.3</dd>')
  t.match(html, '20.20.2 · fastify')
  t.match(html, '>4 s ago</time>')
  t.match(html, 'title="beat stamped 2026-11-23 11:59:56 UTC"', "the beat's own timestamp is shown beside it")
  t.notMatch(html, 'clock-note', 'a plausible timestamp has no clock note')
  t.match(html, '43% <span class="muted">system</span> · 12% <span class="muted">process</span>')
  t.match(html, '<rect class="bar-outer" width="42.5" height="6"/><rect class="bar-inner" width="12.3" height="6"/>', 'CPU: process share inside system')
  t.match(html, '4.66 GiB <span class="muted">of</span> 7.45 GiB <span class="muted">· rss</span> 143 MiB')
  t.match(html, '<rect class="bar-outer" width="62.5" height="6"/><rect class="bar-inner" width="1.9" height="6"/>', 'RAM: rss inside used, out of total')
  t.match(html, '37.3 GiB <span class="muted">free of</span> 93.1 GiB <span class="muted">(40%)</span>')
  t.match(html, '1.5 ms <span class="muted">· p99</span> 12 ms')
  t.match(html, '<caption>Queues</caption>')
  t.match(html, '<a class="q-link" href="/queues/billing/emails"><span class="q-name">emails</span></a> <span class="q-driver">bullmq</span></th><td>1,234</td><td>2</td><td class="is-failed">7</td>')
  t.notMatch(page.body, /style=/, 'no inline style attribute anywhere (CSP)')
  t.notMatch(page.body, /<style/, 'no inline stylesheet (CSP)')
  t.notMatch(page.body, /<script(?![^>]*\ssrc=)/, 'no inline script (CSP)')

  t.match(page.body, '<b>1</b> service</li>')
  t.match(page.body, '<b>1</b> node</li>')
  t.match(page.body, /<b>1<\/b> fresh<\/li>/)
})

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

t.test('a node that sent only a timestamp renders "unknown"s and the page stays up', async (t) => {
  const { app, clock } = await setup(t)
  await beat('php-worker', 'host-7', { timestamp: clock() }, clock())
  // a field of the wrong shape is dropped by the reader; the rest of the node still shows
  await beat('php-worker', 'host-8', { timestamp: clock(), hostname: { evil: true }, cpu: 'high', memory: null, pid: -1, queues: 'x' }, clock())
  await app.collector.refresh()

  const page = await app.inject('/pulse')
  t.equal(page.statusCode, 200)
  for (const nodeId of ['host-7', 'host-8']) {
    const html = card(page.body, 'php-worker', nodeId)
    t.match(html, '<span class="rt rt-other" title="Other runtime">?</span>')
    t.match(html, '>unknown</a></h3>', 'hostname')
    t.match(html, '<dt>pid</dt><dd>unknown</dd>')
    t.match(html, '<dt>uptime</dt><dd>unknown</dd>')
    t.match(html, '<span class="metric-name">CPU</span><span class="metric-value muted">unknown</span>')
    t.match(html, '<span class="metric-name">RAM</span><span class="metric-value muted">unknown</span>')
    t.match(html, '<rect class="bar-outer" width="0" height="6"/>')
    t.notMatch(html, 'Queues')
    t.notMatch(html, /NaN|undefined|null|Infinity|\[object/)
  }
})

t.test('agent text is escaped everywhere, attributes included', async (t) => {
  const { app, clock } = await setup(t)
  const evil = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>'
  await beat('billing', 'node-1', {
    ...sampleHeartbeat({ timestamp: clock(), hostname: evil, appVersion: evil, version: evil, platform: evil }),
    runtime: { uptime: 5, framework: evil },
    queues: [{ name: 'mail', driver: 'bullmq', metrics: { waiting: 1 }, error: evil }],
  }, clock())
  await app.collector.refresh()

  const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;'
  for (const url of ['/pulse', '/fragments/pulse/nodes']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 200)
    t.notMatch(response.body, '<script>alert', `${url}: no raw script`)
    t.notMatch(response.body, '<img', `${url}: no raw tag`)
    t.notMatch(response.body, /"'>/, `${url}: no attribute break-out`)
    t.match(response.body, `>${escaped}</a></h3>`, `${url}: hostname escaped in text`)
    t.match(response.body, `title="${escaped}"`, `${url}: escaped inside attributes`)
    t.match(response.body, `aria-label="${escaped} (node-1): Fresh"`)
    t.match(response.body, `class="has-error" title="${escaped}"`, 'queue error escaped in its attribute')
  }

  // Queue and node names cannot carry markup (the reader enforces the name rule), so the
  // template is also checked directly with a view the reader would never build.
  const view: PulseView = {
    generatedAt: clock(),
    serviceNames: ['<b>svc</b>'],
    summary: { services: 1, nodes: 1, fresh: 1, stale: 0, dead: 0 },
    services: [{
      name: '<b>svc</b>',
      counts: { fresh: 1, stale: 0, dead: 0 },
      nodes: [{
        service: '<b>svc</b>',
        nodeId: '"><script>x</script>',
        health: 'fresh',
        seenAt: clock(),
        ageMs: 0,
        clockNote: null,
        heartbeat: { timestamp: clock(), language: '"><script>' as never, queues: [{ name: '<script>q</script>', driver: '<i>' as never, metrics: { waiting: 1 } }] },
      }],
    }],
  }
  const html = await app.view('nodes/nodes', { view, filter: '', redis: { up: true, downSince: null, degraded: [] }, h: viewHelpers })
  t.notMatch(html, /<script|<b>svc|<i>/, 'no raw markup from names, ids or queue fields')
  t.match(html, 'id="node:&lt;b&gt;svc&lt;/b&gt;:&quot;&gt;&lt;script&gt;x&lt;/script&gt;"')
  t.match(html, '<span class="q-name">&lt;script&gt;q&lt;/script&gt;</span> <span class="q-driver">&lt;i&gt;</span>')
  t.match(html, '<span class="rt rt-other"', 'an unknown language never reaches a class name')
})

t.test('health badges: stale and dead, with text', async (t) => {
  const { app, clock } = await setup(t, { graceMs: 60_000 })
  await beat('billing', 'node-1', sampleHeartbeat({ timestamp: clock() }), clock())
  await app.collector.refresh()

  clock.advance(20_000)
  await app.collector.refresh()
  let html = card((await app.inject('/pulse')).body, 'billing', 'node-1')
  t.match(html, 'class="node node-stale"')
  t.match(html, '<span class="badge badge-stale">Stale</span>')
  t.match(html, '>20 s ago</time>')

  await redis.del(keys.node('billing', 'node-1'))
  clock.advance(15_000)
  await app.collector.refresh()
  const page = await app.inject('/pulse')
  html = card(page.body, 'billing', 'node-1')
  t.match(html, 'class="node node-dead"')
  t.match(html, '<span class="badge badge-dead">Dead</span>')
  t.match(html, '>35 s ago</time>')
  t.match(html, '>web-1</a></h3>', 'a dead node keeps its last values')
  t.match(page.body, '<span class="count-dead">1 dead</span>')
  t.match(page.body, /<b>1<\/b> dead<\/li>/)
})

t.test('a large group shows 60 cards, urgent ones first, and counts the rest', async (t) => {
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
  t.equal(ids.length, 60)
  t.same(ids.slice(0, 5), ['n070', 'n071', 'n072', 'n073', 'n074'], 'stale nodes first')
  t.same(ids.slice(5, 7), ['n000', 'n001'], 'then by id')
  t.match(body, '<p class="service-more">&hellip; and 15 more</p>', 'an entity, not the character: one character outside Latin-1 doubles the memory of the whole rendered string')
  t.match(body, '<b>75</b> nodes</li>')
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
  for (const [label, href] of [['Queues', '/queues'], ['Slow', '/slow'], ['Alerts', '/alerts'], ['Audit', '/audit']]) {
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
