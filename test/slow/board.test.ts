/**
 * The Slow page around its windows: the range switch (links that keep the filter, the default
 * window marked), HTTP statuses coloured by class, attempts as the agent counted them, the empty
 * state that shows how to record entries, and the cap of names per bucket counted and said.
 */
import t from 'tap'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { slowCollector } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

async function add(service: string, fields: Record<string, string | number>) {
  await redis.xadd(keys.slow(service), '*', ...Object.entries(fields).flatMap(([k, v]) => [k, String(v)]))
}

t.test('an empty console shows how to record slow entries', async (t) => {
  await redis.flushall()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock: fakeClock() })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const page = await app.inject('/slow')
  t.equal(page.statusCode, 200)
  t.match(page.body, /data-slow-empty/)
  t.match(page.body, /quasarExpress\(agent/, 'the SDK snippet')
  t.match(page.body, /withSlowJobs\(agent, handler\)/)
  t.match(page.body, /XADD gravito:quasar:slow:billing MAXLEN ~ 1000 \* kind request/, 'the raw protocol line')
  t.match(page.body, /PROTOCOL\.md/)
})

t.test('range links keep the filter; statuses are coloured; attempts shown as counted', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const statuses = [200, 302, 404, 429, 500, 502]
  for (const [i, status] of statuses.entries()) await add('billing', { kind: 'request', name: `GET /s${status}`, durationMs: 900 + i, timestamp: clock() - i * 1000, nodeId: 'web-1', status })
  await add('billing', { kind: 'job', name: 'invoice', durationMs: 1500, timestamp: clock() - 2 * 60 * 60_000, nodeId: 'w-1', attempts: 1 })
  await app.collector.refresh()

  const page = await app.inject('/slow?service=billing')
  t.equal(page.statusCode, 200)
  t.notMatch(page.body, /data-slow-empty/)
  const links = [...page.body.matchAll(/<a href="(\/slow\?[^"]*)"( aria-current="true")?>(1h|6h|24h|7d)<\/a>/g)].map((m) => [m[3], m[1]!.replace(/&amp;/g, '&'), Boolean(m[2])])
  t.same(
    links,
    [
      ['1h', '/slow?service=billing&range=1h', false],
      ['6h', '/slow?service=billing&range=6h', false],
      ['24h', '/slow?service=billing&range=24h', true],
      ['7d', '/slow?service=billing&range=7d', false],
    ],
    'one link per window, the default (24h) current',
  )
  const classOf = (html: string) => Object.fromEntries([...html.matchAll(/<span class="http-status (status-\w+)">HTTP (\d+)<\/span>/g)].map((m) => [m[2], m[1]]))
  t.same(classOf(page.body), { 200: 'status-ok', 302: 'status-ok', 404: 'status-warn', 429: 'status-warn', 500: 'status-error', 502: 'status-error' })
  t.match(page.body, /attempt 1</)

  const hour = await app.inject('/slow?service=billing&range=1h')
  t.match(hour.body, /hx-get="\/slow\/fragments\/board\?service=billing&amp;range=1h"/, 'the poll keeps the window')
  t.match(hour.body, /<input type="hidden" name="range" value="1h">/, 'changing a filter keeps the window')
  t.notMatch(hour.body, /invoice/, 'a job two hours old is outside the last hour')
  t.match((await app.inject('/slow?service=billing&range=6h')).body, /invoice/)
  for (const range of ['2h', '1H', '30d']) t.equal((await app.inject(`/slow?range=${range}`)).statusCode, 400, range)
})

t.test('a bucket takes a bounded number of names; the rest are counted as dropped', async (t) => {
  await redis.flushall()
  const part = slowCollector(redisServer.url, { aggregates: { namesPerBucket: 3 } })
  t.teardown(() => part.close())
  const at = Date.UTC(2026, 10, 23, 12, 0, 1)
  for (let name = 0; name < 5; name++) for (let i = 0; i <= name; i++) await add('shop', { kind: 'request', name: `GET /n${name}`, durationMs: 600, timestamp: at + name * 10 + i, nodeId: 'a' })
  let slow = await part.tick(['shop'])
  for (let i = 0; i < 3; i++) slow = await part.tick(['shop'])
  const hour = slow.windows.windows['1h']
  t.same(
    hour.groups.map((g) => [g.name, g.count]).sort(),
    [
      ['GET /n0', 1],
      ['GET /n1', 2],
      ['GET /n2', 3],
    ],
    'the first three names of the bucket are counted',
  )
  t.equal(hour.dropped, 4 + 5, 'the entries of the other two are counted as dropped')
  t.equal(slow.entries.length, 15, 'the latest entries keep every one')
})
