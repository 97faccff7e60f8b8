/**
 * `/slow?range=` counts what was stored for the window, not the entries still in memory: many
 * entries of several services and names, stamped across every window's edges and written out of
 * order, read by two console replicas on one Redis (and by a third started afterwards) on a fake
 * clock. Every replica answers the exact count and max of each group in each window (an entry is
 * folded once, whoever reads it first), and a p95 within the histogram's documented bound.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { percentile } from '../../server/slow/service.js'
import { PERCENTILE_ERROR_RATIO } from '../../server/slow/histogram.js'
import { RANGE_MS, SLOW_RANGES, type SlowRange } from '../../server/slow/windows.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

interface Written {
  service: string
  kind: 'request' | 'job'
  name: string
  durationMs: number
  timestamp: number
}

/** the documented window: from the first 5-minute boundary at or after now − range, to now */
const windowStart = (range: SlowRange, now: number) => Math.ceil((now - RANGE_MS[range]) / (5 * MINUTE)) * 5 * MINUTE

function expectedGroups(written: readonly Written[], range: SlowRange, now: number) {
  const from = windowStart(range, now)
  const groups = new Map<string, number[]>()
  for (const entry of written) {
    if (entry.timestamp < from || entry.timestamp > now) continue
    const key = `${entry.service}|${entry.kind}|${entry.name}`
    groups.set(key, [...(groups.get(key) ?? []), entry.durationMs])
  }
  return new Map([...groups].map(([key, durations]) => [key, durations.sort((a, b) => a - b)]))
}

async function write(entry: Written) {
  await redis.xadd(keys.slow(entry.service), '*', 'kind', entry.kind, 'name', entry.name, 'durationMs', String(entry.durationMs), 'timestamp', String(entry.timestamp), 'nodeId', 'n-1')
}

async function check(t: Test, apps: Record<string, FastifyInstance>, written: readonly Written[], now: number) {
  for (const range of SLOW_RANGES) {
    const expected = expectedGroups(written, range, now)
    t.ok(expected.size > 0, `${range}: the seeded data has entries in the window`)
    for (const [label, app] of Object.entries(apps)) {
      const body = (await app.inject(`/api/pulse/slow?range=${range}`)).json() as { groups: { service: string; kind: string; name: string; count: number; p95Ms: number; maxMs: number }[]; from: number }
      t.equal(body.from, windowStart(range, now), `${label} ${range}: window start`)
      const got = new Map(body.groups.map((g) => [`${g.service}|${g.kind}|${g.name}`, g]))
      t.same([...got.keys()].sort(), [...expected.keys()].sort(), `${label} ${range}: the same groups`)
      let exact = 0
      let bounded = 0
      for (const [key, durations] of expected) {
        const group = got.get(key)
        if (!group) continue
        if (group.count === durations.length && group.maxMs === durations.at(-1)) exact++
        else t.fail(`${label} ${range} ${key}: count ${group.count} max ${group.maxMs}, expected ${durations.length} and ${durations.at(-1)}`)
        const truth = percentile(durations, 95)
        if (Math.abs(Math.log(group.p95Ms / truth)) <= Math.log(PERCENTILE_ERROR_RATIO) + 1e-9) bounded++
        else t.fail(`${label} ${range} ${key}: p95 ${group.p95Ms}, exact ${truth}`)
      }
      t.equal(exact, expected.size, `${label} ${range}: every group's count and max exact`)
      t.equal(bounded, expected.size, `${label} ${range}: every p95 within ${PERCENTILE_ERROR_RATIO}×`)
    }
  }
}

t.test('two replicas and a late third count every entry once, in every window', async (t) => {
  await redis.flushall()
  const start = Date.UTC(2026, 10, 23, 12, 3, 17)
  const clockA = fakeClock(start)
  const clockB = fakeClock(start)
  const a = await buildTestApp({ redisUrl: redisServer.url, clock: clockA })
  const b = await buildTestApp({ redisUrl: redisServer.url, clock: clockB })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const random = seededRandom(13)
  const services = ['billing', 'mailer', 'search']
  const names: [Written['kind'], string][] = [
    ['request', 'GET /report'],
    ['request', 'POST /orders'],
    ['job', 'invoice'],
    ['job', 'send-email'],
  ]
  const written: Written[] = []
  const make = (timestamp: number): Written => {
    const [kind, name] = names[Math.floor(random() * names.length)]!
    return { service: services[Math.floor(random() * services.length)]!, kind, name, durationMs: Math.round(50 + random() * random() * 20_000), timestamp }
  }
  // history: stamped across 8 days, with entries on and beside every window's edge, written out of order
  const history: Written[] = []
  for (let i = 0; i < 600; i++) history.push(make(start - Math.floor(random() * 8 * DAY)))
  for (const range of SLOW_RANGES) {
    const from = windowStart(range, start)
    for (const at of [from - 1, from, from + 1, from + 5 * MINUTE - 1]) history.push(make(at))
  }
  history.push(make(start))
  for (const entry of shuffled(history, random)) await write(entry)
  written.push(...history)

  // both replicas read the streams (20 entries per stream per tick); B ticks half as often
  for (let tick = 0; tick < 40; tick++) {
    await a.collector.refresh()
    if (tick % 2 === 0) await b.collector.refresh()
  }
  await check(t, { A: a, B: b }, written, start)

  // three hours on: new entries arrive (some stamped minutes late), windows move past old ones
  for (let step = 0; step < 90; step++) {
    clockA.advance(2 * MINUTE)
    clockB.advance(2 * MINUTE)
    const fresh = [make(clockA() - Math.floor(random() * 10 * MINUTE)), make(clockA())]
    for (const entry of fresh) await write(entry)
    written.push(...fresh)
    await a.collector.refresh()
    if (step % 3 !== 1) await b.collector.refresh()
  }
  await b.collector.refresh()
  await b.collector.refresh()
  const now = clockA()
  t.equal(clockB(), now)
  // a third console, started now, reads the streams again from their start: it must add nothing
  const c = await buildTestApp({ redisUrl: redisServer.url, clock: fakeClock(now) })
  t.teardown(() => c.close())
  for (let tick = 0; tick < 60; tick++) await c.collector.refresh()
  await a.collector.refresh()
  await b.collector.refresh()
  await check(t, { A: a, B: b, C: c }, written, now)
})
