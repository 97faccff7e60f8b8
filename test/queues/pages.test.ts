/**
 * The queue pages through `inject`, from agent snapshots in a real Redis: the table's server-side
 * sort and filter (links and a GET form, no JavaScript needed), its polled fragment with 304s, the
 * empty state; the queue page with its counts, paginated failed jobs in <details>, agent strings
 * escaped, the history charts; node cards linking their queues to these pages.
 */
import t, { type Test } from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { after, beat, writeSnapshot } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)

/** the names in table order */
function rowNames(html: string): string[] {
  const body = after(html, '<tbody>')
  return [...body.matchAll(/<td><a href="\/queues\/([^/]+)\/([^"]+)">/g)].map((m) => `${m[1]}/${m[2]}`)
}

function noInlineCode(t: Test, html: string) {
  t.notMatch(html, /style=/, 'no inline style attribute (CSP)')
  t.notMatch(html, /<script(?![^>]*\ssrc=)/, 'no inline script (CSP)')
}

t.test('empty state says how to get queues in', async (t) => {
  await redis.flushall()
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const page = await app.inject('/queues')
  t.equal(page.statusCode, 200)
  t.match(page.body, '<title>Queues · Zenith</title>')
  t.match(page.body, 'No queues yet.')
  t.match(page.body, "agent.monitorQueue('emails', 'bullmq')")
  t.match(page.body, 'aria-current="page">Queues</a>')
  t.same((await app.inject('/api/pulse/queues')).json().queues, [])
})

t.test('table: sort and filter on the server, polled fragment with 304', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await writeSnapshot(redis, 'billing', {
    timestamp: clock(),
    nodeId: 'w-1',
    queues: [
      { name: 'emails', driver: 'bullmq', metrics: { waiting: 1200, active: 3, failed: 4, completed: 10 }, oldestWaitingMs: 65_000 },
      { name: 'pdf', driver: 'redis-list', metrics: { waiting: 7 } },
    ],
  })
  await writeSnapshot(redis, 'shop', { timestamp: clock(), queues: [{ name: 'orders', driver: 'laravel', metrics: { waiting: 50, failed: 0, delayed: 2 } }] })
  await app.collector.refresh()

  const page = await app.inject('/queues')
  t.equal(page.statusCode, 200)
  noInlineCode(t, page.body)
  t.same(rowNames(page.body), ['billing/emails', 'billing/pdf', 'shop/orders'], 'by service, then name')
  t.match(page.body, '<div id="queues-table" class="queues-board" hx-get="/fragments/queues/table" hx-trigger="every 3s"')
  t.match(page.body, '<td class="num is-backlog">1,200</td>', 'a backlog over 1,000 is highlighted')
  t.match(page.body, '<td class="num is-long-wait">waiting 1m 5s</td>', 'oldest waiting age, highlighted past a minute')
  t.match(page.body, '<span class="driver driver-bullmq">BullMQ</span>')
  t.match(page.body, '<span class="driver driver-redis-list">list</span>')
  t.match(page.body, '<th scope="col" aria-sort="ascending"><a href="/queues?dir=desc">service', 'the sorted column links to the other direction')
  t.match(page.body, '<a href="/queues?sort=waiting">waiting</a>', 'counts sort largest first')

  const byWaiting = await app.inject('/queues?sort=waiting')
  t.same(rowNames(byWaiting.body), ['billing/emails', 'shop/orders', 'billing/pdf'])
  t.match(byWaiting.body, '<th scope="col" class="num" aria-sort="descending"><a href="/queues?sort=waiting&amp;dir=asc">waiting')
  t.match(byWaiting.body, 'hx-get="/fragments/queues/table?sort=waiting"', 'the poll keeps the sort')
  t.same(rowNames((await app.inject('/queues?sort=waiting&dir=asc')).body), ['billing/pdf', 'shop/orders', 'billing/emails'])
  t.same(rowNames((await app.inject('/queues?sort=failed')).body), ['billing/emails', 'shop/orders', 'billing/pdf'], 'unknown failed count last')

  const filtered = await app.inject('/queues?service=billing&driver=&sort=name&dir=desc')
  t.same(rowNames(filtered.body), ['billing/pdf', 'billing/emails'], 'filter by service; an empty driver means all')
  t.match(filtered.body, '<option value="billing" selected>billing</option>')
  t.match(filtered.body, '<input type="hidden" name="sort" value="name">', 'the GET form keeps the sort')
  t.match(filtered.body, 'hx-get="/fragments/queues/table?service=billing&amp;sort=name&amp;dir=desc"')
  t.same(rowNames((await app.inject('/queues?driver=laravel')).body), ['shop/orders'])
  t.match((await app.inject('/queues?driver=sqs')).body, 'No queue matches this filter.')
  for (const bad of ['?sort=size', '?dir=sideways', '?driver=%3Cb%3E', '?service=a*b']) {
    t.equal((await app.inject(`/queues${bad}`)).statusCode, 400, bad)
  }

  const fragment = await app.inject('/fragments/queues/table?sort=waiting')
  t.equal(fragment.statusCode, 200)
  t.notMatch(fragment.body, /<html|<main/, 'only the table')
  t.same(rowNames(fragment.body), ['billing/emails', 'shop/orders', 'billing/pdf'])
  t.equal(after(byWaiting.body, '<div id="queues-table"').includes(fragment.body.trim().slice(0, 200)), true, 'the page includes the same markup')
  const etag = fragment.headers.etag as string
  await app.collector.refresh()
  const unchanged = await app.inject({ url: '/fragments/queues/table?sort=waiting', headers: { 'if-none-match': etag } })
  t.equal(unchanged.statusCode, 304, 'a new snapshot with the same queues: 304')
  await writeSnapshot(redis, 'shop', { timestamp: clock(), queues: [{ name: 'orders', driver: 'laravel', metrics: { waiting: 51 } }] })
  await app.collector.refresh()
  t.equal((await app.inject({ url: '/fragments/queues/table?sort=waiting', headers: { 'if-none-match': etag } })).statusCode, 200, 'changed counts: the new table')
})

t.test('queue page: counts, paginated failed jobs with details, charts', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const failedJobs = Array.from({ length: 23 }, (_, i) => ({
    id: `job-${i}`,
    name: i === 0 ? '<i>SendInvoice</i>' : 'SendInvoice',
    failedReason: i === 0 ? '<script>alert("reason")</script>' : `timeout ${i}`,
    stacktrace: [`Error: timeout ${i}\n    at <anonymous> (worker.js:${i}:1)`],
    attemptsMade: 3,
    timestamp: clock() - i * 1000,
    data: JSON.stringify({ invoice: i, note: i === 0 ? '</pre><script>alert(2)</script>' : 'ok' }),
  }))
  await beat(redis, 'billing', 'worker-1', clock(), [{ name: 'emails', driver: 'bullmq', metrics: { waiting: 12 } }])
  await writeSnapshot(redis, 'billing', {
    timestamp: clock() - 1000,
    nodeId: 'worker-1',
    queues: [{ name: 'emails', driver: 'bullmq', metrics: { waiting: 12, active: 1, delayed: 0, failed: 120, completed: 5000 }, oldestWaitingMs: 3000, failedJobs }],
  })
  await app.collector.refresh()
  await app.collector.refresh()

  const page = await app.inject('/queues/billing/emails')
  t.equal(page.statusCode, 200)
  noInlineCode(t, page.body)
  t.match(page.body, '<title>emails · billing · Zenith</title>')
  t.match(page.body, 'aria-current="page">Queues</a>', 'the Queues tab is current')
  t.match(page.body, 'hx-get="/queues/billing/emails/fragments/summary" hx-trigger="every 3s"')
  t.match(page.body, '<div><dt>waiting</dt><dd>12</dd></div>')
  t.match(page.body, '<div class="is-failed"><dt>failed</dt><dd>120</dd></div>')
  t.match(page.body, 'reported by <a href="/pulse/billing/worker-1">worker-1</a>')
  t.match(
    page.body,
    '<section id="failed-jobs" class="failed-jobs" aria-labelledby="failed-jobs-title" data-fragment-url="/queues/billing/emails/fragments/failed" hx-get="/queues/billing/emails/fragments/failed" hx-trigger="every 5s" hx-swap="innerMorph">',
    'the failed list is polled',
  )
  t.match(page.body, 'The newest 23 of 120 failed jobs, newest first.')
  const ids = (html: string) => [...html.matchAll(/<code class="job-id" title="job id">([^<]+)<\/code>/g)].map((m) => m[1])
  t.same(
    ids(page.body),
    Array.from({ length: 10 }, (_, i) => `job-${i}`),
    'page 1: the ten newest',
  )
  t.equal((page.body.match(/<details class="job-detail">/g) ?? []).length, 10, 'each with its details')
  t.match(page.body, '&lt;script&gt;alert(&quot;reason&quot;)&lt;/script&gt;')
  t.match(page.body, '&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;')
  t.match(page.body, '&lt;i&gt;SendInvoice&lt;/i&gt;')
  t.notMatch(page.body, /<script>alert|<i>SendInvoice/, 'no markup from job data')
  t.match(page.body, '<pre class="job-pre">{\n  &quot;invoice&quot;: 0,', 'payload pretty-printed')
  t.match(page.body, 'Error: timeout 1\n    at &lt;anonymous&gt; (worker.js:1:1)', 'stack trace as sent')
  t.match(page.body, '<a href="/queues/billing/emails?page=2" rel="next">Older</a>')
  t.match(page.body, 'page 1 of 3')
  // the history charts of the queue
  t.match(page.body, 'data-chart-kind="queue" data-chart-url="/charts/queues/billing/emails?range=1h"')
  t.match(page.body, 'href="/queues/billing/emails?range=24h"', 'range links stay on the queue page')

  const second = await app.inject('/queues/billing/emails?page=2')
  t.same(
    ids(second.body),
    Array.from({ length: 10 }, (_, i) => `job-${i + 10}`),
  )
  t.match(second.body, 'rel="prev">Newer</a>')
  const third = await app.inject('/queues/billing/emails?page=3&range=7d')
  t.same(ids(third.body), ['job-20', 'job-21', 'job-22'])
  t.notMatch(third.body, /rel="next"/)
  t.match(third.body, '/charts/queues/billing/emails?range=7d')
  t.same(ids((await app.inject('/queues/billing/emails?page=99')).body), ['job-20', 'job-21', 'job-22'], 'past the end: the last page')
  for (const bad of ['?page=0', '?page=-1', '?page=two', '?range=1y']) {
    t.equal((await app.inject(`/queues/billing/emails${bad}`)).statusCode, 400, bad)
  }

  const failedFragment = await app.inject('/queues/billing/emails/fragments/failed?page=2')
  t.equal(failedFragment.statusCode, 200)
  t.same(
    ids(failedFragment.body),
    Array.from({ length: 10 }, (_, i) => `job-${i + 10}`),
  )
  t.notMatch(failedFragment.body, /<html|id="failed-jobs"/, "the region's content only")
  t.equal((await app.inject({ url: '/queues/billing/emails/fragments/failed?page=2', headers: { 'if-none-match': failedFragment.headers.etag as string } })).statusCode, 304)
  t.equal((await app.inject('/queues/billing/ghost/fragments/failed')).statusCode, 404)

  const summary = await app.inject('/queues/billing/emails/fragments/summary')
  t.equal(summary.statusCode, 200)
  t.match(summary.body, '<dt>jobs/s</dt>')
  t.equal((await app.inject({ url: '/queues/billing/emails/fragments/summary', headers: { 'if-none-match': summary.headers.etag as string } })).statusCode, 304)

  t.equal((await app.inject('/queues/billing/ghost')).statusCode, 404, 'never reported, no history')
  t.equal((await app.inject('/queues/billing/bad%0Aname')).statusCode, 400, 'a control character is no queue name')

  // the node card links its queues to their pages
  const pulse = await app.inject('/pulse')
  t.match(pulse.body, '<a class="q-link" href="/queues/billing/emails"><span class="q-name">emails</span></a>')
})

t.test('the viewer reaches the command partials: buttons for an owned queue, none for a read-only one', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  // an open console is run by an operator; QUASAR_TOKEN lets it sign commands
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, quasarToken: 'q'.repeat(32) })
  t.teardown(() => app.close())
  const failedJobs = [{ id: 'job-7', name: 'send', failedReason: 'boom', attemptsMade: 1, timestamp: clock() }]
  await writeSnapshot(redis, 'billing', {
    timestamp: clock(),
    nodeId: 'worker-1',
    queues: [
      { name: 'emails', driver: 'bullmq', metrics: { waiting: 0, failed: 1 }, failedJobs },
      { name: 'lists', driver: 'redis-list', metrics: { waiting: 0, failed: 1 }, failedJobs },
    ],
  })
  await app.collector.refresh()
  const retryForm = /<form class="job-action" method="post" action="\/commands\/retry"[^]*?name="_csrf" value="[^"]+"[^]*?name="jobId" value="job-7"/
  t.match((await app.inject('/queues/billing/emails')).body, retryForm, "page: the job's actions, with the viewer's CSRF token")
  t.match((await app.inject('/queues/billing/emails/fragments/failed')).body, retryForm, 'fragment: the same')
  t.notMatch((await app.inject('/queues/billing/lists')).body, /action="\/commands\/retry"/, 'a read-only queue: no buttons')
})

t.test('a queue no longer reported keeps its page while its history lasts', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await writeSnapshot(redis, 'billing', { timestamp: clock(), queues: [{ name: 'emails', driver: 'bullmq', metrics: { waiting: 1 } }] })
  await app.collector.refresh()
  await redis.del('gravito:quasar:queues:billing')
  clock.advance(2_000)
  await app.collector.refresh()
  const page = await app.inject('/queues/billing/emails')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'This queue is not reported right now.')
  t.notMatch(page.body, 'id="failed-jobs"')
  t.match(page.body, 'data-chart-kind="queue"')
})
