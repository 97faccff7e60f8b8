/**
 * One node card rendered through the app (`inject`) from heartbeats written into a real Redis,
 * with a fake clock so ages and health are exact: every field, none, hostile text, health.
 */
import t, { type Test } from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { viewHelpers } from '../../server/nodes/view-helpers.js'
import type { NodeView } from '../../server/nodes/service.js'
import type { FleetView, ServiceRow } from '../../server/nodes/fleet.js'
import { card, indexedBeat, keys, renderingApp } from './render.js'

const { server: redisServer, redis } = await useRedis(t)

t.beforeEach(async () => {
  await redis.flushall()
})

const beat = (service: string, nodeId: string, payload: Record<string, unknown>, at: number) => indexedBeat(redis, service, nodeId, payload, at)
const setup = (t: Test, options: { graceMs?: number } = {}) => renderingApp(t, redisServer.url, options)

t.test('a node with every field', async (t) => {
  const { app, clock } = await setup(t)
  await beat(
    'billing',
    'node-1',
    {
      ...sampleHeartbeat({ timestamp: clock() - 4000 }),
      runtime: { uptime: 3 * 86_400 + 4 * 3600 + 12, framework: 'fastify' },
      queues: [{ name: 'emails', driver: 'bullmq', metrics: { waiting: 1234, active: 2, failed: 7 } }],
    },
    clock(),
  )
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
  t.match(html, '>node-1 · billing</p>', 'the id and the service: problem nodes of many services share one list')
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

  t.match(page.body, '<b>1</b> service</a></li>')
  t.match(page.body, '<b>1</b> node</a></li>')
  t.match(page.body, /<b>1<\/b> fresh<\/a><\/li>/)
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
    t.match(html, `>${nodeId}</a></h3>`, 'two cards without a hostname: the id names each')
    t.match(html, '<p class="node-id" title="host unknown">unknown · php-worker</p>', 'the hostname reads unknown')
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
  await beat(
    'billing',
    'node-1',
    {
      ...sampleHeartbeat({ timestamp: clock(), hostname: evil, appVersion: evil, version: evil, platform: evil }),
      runtime: { uptime: 5, framework: evil },
      queues: [{ name: 'mail', driver: 'bullmq', metrics: { waiting: 1 }, error: evil }],
    },
    clock(),
  )
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
  const node: NodeView = {
    service: '<b>svc</b>',
    nodeId: '"><script>x</script>',
    health: 'fresh',
    seenAt: clock(),
    ageMs: 0,
    clockNote: null,
    heartbeat: { timestamp: clock(), language: '"><script>' as never, queues: [{ name: '<script>q</script>', driver: '<i>' as never, metrics: { waiting: 1 } }] },
  }
  const row: ServiceRow = { kind: 'service', name: '<b>svc</b>', nodes: 1, counts: { fresh: 1, stale: 0, dead: 0 }, alerting: 0, worst: 'fresh', cpu: null, memory: null }
  const views = (['cards', 'table'] as const).map((layout): FleetView => ({
    generatedAt: clock(),
    query: { view: layout, page: 1, service: '<b>svc</b>', q: '<i>q</i>', health: ['fresh'] },
    filtered: true,
    collapsed: true,
    summary: { services: 1, nodes: 1, fresh: 1, stale: 0, dead: 0, alerting: 0 },
    matched: 1,
    nodes: [{ kind: 'node', node, alerting: true, leadWithId: layout === 'cards' }],
    services: [row],
    serviceOptions: ['<b>svc</b>'],
    moreServices: 0,
    page: 1,
    pages: 2,
  }))
  const [html, table] = await Promise.all(views.map((view) => app.view('nodes/nodes', { view, redis: { up: true, downSince: null, degraded: [] }, h: viewHelpers })))
  t.notMatch(table, /<script|<b>svc|<i>/, 'the table: no raw markup from names, ids or the query')
  t.match(table, '<tr id="node:&lt;b&gt;svc&lt;/b&gt;:&quot;&gt;&lt;script&gt;x&lt;/script&gt;" class="node-row node-row-fresh">')
  t.match(table, '<tr id="service:&lt;b&gt;svc&lt;/b&gt;"')
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
  t.match(page.body, /<b>1<\/b> dead<\/a><\/li>/)
})
