/**
 * /problems, its fragment and /api/problems against a real Redis: many bad keys of many kinds,
 * written in shuffled orders beside good keys, each shown with its reason, the good keys never;
 * the bound, the one-hour window (fake clock), the empty state, escaping, and the viewer login.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { badKeys, goodKeys, KIND_COUNT, problemsOf, seed, type ShownProblem } from './bad-keys.js'

const { server: redisServer, redis } = await useRedis(t)

/** heartbeats reach the queues part through the previous tick's nodes: two ticks read everything */
async function ticks(app: FastifyInstance, clock: ReturnType<typeof fakeClock>, count = 2) {
  for (let i = 0; i < count; i++) {
    await app.collector.refresh()
    clock.advance(2_000)
  }
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;')

for (const order of [1, 2, 3]) {
  t.test(`order ${order}: every bad key is shown with its reason, no good key is`, async (t) => {
    await redis.flushall()
    const clock = fakeClock()
    const app = await buildTestApp({ redisUrl: redisServer.url, clock })
    t.teardown(() => app.close())
    const bad = badKeys(3)
    const good = goodKeys(4)
    await seed(redis, clock(), bad, good, order)
    await ticks(app, clock)

    const api = (await app.inject('/api/problems')).json() as { problems: ShownProblem[]; notKept: { count: number } }
    const html = (await app.inject('/problems/fragments/list')).body
    t.equal(bad.length, KIND_COUNT * 3)
    for (const item of bad) {
      const shown = problemsOf(item, api.problems)
      t.equal(shown.length, 1, `${item.kind} (${item.key}): one problem`)
      t.match(shown[0]?.reason, item.reason, `${item.kind}: its reason`)
      t.ok(html.includes(escape(shown[0]?.key ?? '-')), `${item.kind}: its key is on the page`)
      t.ok(html.includes(escape(shown[0]?.reason ?? '-')), `${item.kind}: its reason is on the page`)
    }
    t.equal(api.problems.length, bad.length, 'nothing else is reported')
    for (const item of good)
      t.notOk(
        api.problems.some((problem) => problem.key === item.key || problem.key.startsWith(`${item.key} `)),
        `good key ${item.key} is not a problem`,
      )
    t.same(api.notKept.count, 0)
    // the good data is still read
    const nodes = (await app.inject('/api/pulse/nodes')).json().services.map((service: { name: string }) => service.name)
    t.same(
      nodes.filter((name: string) => name.startsWith('good-')),
      ['good-0', 'good-1', 'good-2', 'good-3'],
    )
  })
}

t.test('newest first, counts and times; grouped by key on request', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const start = clock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await redis.set('gravito:quasar:node:a:n1', '{', 'EX', 300)
  await ticks(app, clock, 3)
  await redis.del('gravito:quasar:node:a:n1')
  await redis.set('gravito:quasar:node:b:n1', '[]', 'EX', 300)
  await redis.set('gravito:quasar:node:b:n2', '{', 'EX', 300)
  // keys that are in no index are found by the SCAN pass, which starts every 10 s
  clock.set(start + 12_000)
  await ticks(app, clock, 1)

  const { problems } = (await app.inject('/api/problems')).json()
  t.same(
    problems
      .slice(0, 2)
      .map((p: ShownProblem) => p.key)
      .sort(),
    ['gravito:quasar:node:b:n1', 'gravito:quasar:node:b:n2'],
    'the newest first',
  )
  t.same(problems[2], { key: 'gravito:quasar:node:a:n1', reason: 'malformed JSON', count: 3, firstSeenAt: start, lastSeenAt: start + 4_000 }, 'then the older one, seen three times')
  t.same(
    problems.find((p: ShownProblem) => p.key === 'gravito:quasar:node:b:n1'),
    { key: 'gravito:quasar:node:b:n1', reason: 'heartbeat is not a JSON object', count: 1, firstSeenAt: start + 12_000, lastSeenAt: start + 12_000 },
  )
  t.equal(problems.length, 3)

  const grouped = (await app.inject('/api/problems?sort=key')).json()
  t.same(grouped.groups.map((g: { key: string; reports: number }) => [g.key, g.reports]).slice(2), [['gravito:quasar:node:a:n1', 3]], 'groups in order of their newest problem')
  const page = (await app.inject('/problems?sort=key')).body
  t.match(page, /<option value="key" selected>Grouped by key/)
  t.equal(page.match(/scope="rowgroup"/g)?.length, 3, 'each key heads its group')
  t.equal((await app.inject('/api/problems?sort=sideways')).statusCode, 400)
})

t.test('clean data: the page says so', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await seed(redis, clock(), [], goodKeys(3), 1)
  await ticks(app, clock)
  t.same((await app.inject('/api/problems')).json().problems, [])
  const page = await app.inject('/problems')
  t.equal(page.statusCode, 200)
  t.match(page.body, /No problems in the last 1 h: the agents' data is clean/)
  t.match(page.body, /<a href="\/problems" aria-current="page">Problems<\/a>/, 'the nav links the page')
  t.match(page.body, /hx-get="\/problems\/fragments\/list" hx-trigger="every 5s"/, 'the list polls its fragment')
})

t.test('more bad keys than the record holds: the newest kept, the rest counted', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  // 620 keys in one tick: which 500 are "seen most recently" depends on read order, so they are
  // written in two ticks, the second one's 500 being the newest
  for (let i = 0; i < 120; i++) await redis.set(`gravito:quasar:node:old-${i}:n1`, '{', 'EX', 300)
  await ticks(app, clock, 1)
  for (let i = 0; i < 120; i++) await redis.del(`gravito:quasar:node:old-${i}:n1`)
  for (let i = 0; i < 500; i++) await redis.set(`gravito:quasar:node:new-${i}:n1`, '{', 'EX', 300)
  // keys that are in no index are found by the SCAN pass, which starts every 10 s
  clock.advance(10_000)
  await ticks(app, clock, 1)

  const api = (await app.inject('/api/problems')).json()
  t.equal(api.problems.length, 500, 'the bound')
  t.ok(
    api.problems.every((p: ShownProblem) => p.key.includes(':new-')),
    'the newest 500 kept',
  )
  t.same(api.notKept, { count: 120, more: false }, 'the 120 older ones counted')
  t.match((await app.inject('/problems/fragments/list')).body, /120 more problems of the last 1 h not kept: the list holds the 500 seen most recently/)
})

t.test('one hour: a problem stays 59 minutes after its last sighting, and is gone at 60', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await redis.set('gravito:quasar:node:gone:n1', '{', 'EX', 300)
  await redis.set('gravito:quasar:node:stays:n1', '{', 'EX', 3600)
  await app.collector.refresh()
  const firstTick = clock()
  await redis.del('gravito:quasar:node:gone:n1')
  clock.advance(30 * 60_000)
  await app.collector.refresh()
  const keysShown = async () =>
    (await app.inject('/api/problems'))
      .json()
      .problems.map((p: ShownProblem) => p.key)
      .sort()
  clock.set(firstTick + 60 * 60_000 - 1)
  await app.collector.refresh()
  t.same(await keysShown(), ['gravito:quasar:node:gone:n1', 'gravito:quasar:node:stays:n1'], 'within the hour')
  clock.set(firstTick + 60 * 60_000)
  // no tick here: the page itself leaves out what has aged out
  t.same(await keysShown(), ['gravito:quasar:node:stays:n1'], 'an hour after its last sighting it is gone')
  await redis.del('gravito:quasar:node:stays:n1')
  clock.set(firstTick + 150 * 60_000)
  await app.collector.refresh()
  t.same(await keysShown(), [])
  t.match((await app.inject('/problems/fragments/list')).body, /data is clean/)
})

t.test('with a login, the page is for logged-in viewers', async (t) => {
  const app = await buildTestApp({ redisUrl: redisServer.url, password: 'a-shared-password' })
  t.teardown(() => app.close())
  const page = await app.inject('/problems')
  t.equal(page.statusCode, 303)
  t.match(page.headers.location, /^\/login/)
  t.equal((await app.inject('/api/problems')).statusCode, 401)
})
