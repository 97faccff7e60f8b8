import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { createAlertsCollector, HISTORY_EVENTS, HISTORY_MAX_AGE_MS } from '../../server/alerts/collector-part.js'
import { createAlertStore } from '../../server/alerts/store.js'
import type { HistoryEvent } from '../../server/alerts/schemas.js'

const { redis } = await useRedis(t)
const keys = createConsoleKeys('gravito:quasar:')
const store = createAlertStore(redis, keys)
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)
/** for the tests that plant no bad key */
const quiet = { report: () => {} }

t.beforeEach(async () => {
  await redis.flushall()
})

function event(at: number, kind: HistoryEvent['kind'] = 'firing', target = 'billing/web-1'): HistoryEvent {
  return { rule: 'cpu-high', metric: 'cpu', target, service: 'billing', nodeId: target.split('/')[1]!, kind, op: 'above', value: 95, threshold: 90, at, firedAt: at, message: 'queued', channels: ['ops'] }
}

t.test('history is read once in full, then only what is new; deliveries join their event', async (t) => {
  const part = createAlertsCollector(redis, keys, quiet)
  const first = await store.recordEvent(event(NOW - 2_000))
  const initial = await part.collect(NOW, undefined as never)
  t.same(
    initial!.history.map((e) => e.id),
    [first],
  )
  const unchanged = await part.collect(NOW, undefined as never)
  t.equal(unchanged!.history, initial!.history, 'nothing new: the same array, no rebuild')

  const second = await store.recordEvent(event(NOW - 1_000, 'resolved'))
  await store.recordDelivery({ eventId: first, channel: 'ops', ok: true, attempts: 1, at: NOW })
  await store.recordDelivery({ eventId: second, channel: 'ops', ok: false, attempts: 4, error: 'HTTP 500', at: NOW })
  await store.recordDelivery({ eventId: '1-1', channel: 'ops', ok: true, attempts: 1, at: NOW })
  const next = await part.collect(NOW, undefined as never)
  t.same(
    next!.history.map((e) => [e.id, e.kind, e.deliveries.map((d) => d.ok)]),
    [
      [second, 'resolved', [false]],
      [first, 'firing', [true]],
    ],
  )
  t.same(initial!.history[0]!.deliveries, [], 'an entry already published is never changed')
})

t.test('history keeps the latest 500 events and nothing older than 7 days', async (t) => {
  const part = createAlertsCollector(redis, keys, quiet)
  await store.recordEvent(event(NOW - HISTORY_MAX_AGE_MS - 1, 'firing', 'billing/ancient'))
  const pipeline = redis.pipeline()
  for (let i = 0; i < HISTORY_EVENTS + 20; i++) pipeline.xadd(keys.alertsHistory(), '*', 'e', JSON.stringify(event(NOW - 1000 + i)))
  await pipeline.exec()
  const { history } = (await part.collect(NOW, undefined as never))!
  t.equal(history.length, HISTORY_EVENTS)
  t.equal(history[0]!.at, NOW - 1000 + HISTORY_EVENTS + 19, 'newest first')
  t.notOk(history.some((e) => e.target === 'billing/ancient'))

  const fresh = createAlertsCollector(redis, keys, quiet)
  await redis.del(keys.alertsHistory())
  await store.recordEvent(event(NOW - HISTORY_MAX_AGE_MS + 60_000, 'firing', 'billing/old'))
  t.equal((await fresh.collect(NOW, undefined as never))!.history.length, 1)
  t.equal((await fresh.collect(NOW + 120_000, undefined as never))!.history.length, 0, 'aged out at a later tick')
})

t.test('corrupt entries are skipped without failing the tick', async (t) => {
  const part = createAlertsCollector(redis, keys, quiet)
  await redis.xadd(keys.alertsHistory(), '*', 'e', '{not json')
  await redis.xadd(keys.alertsHistory(), '*', 'e', JSON.stringify({ ...event(NOW), kind: 'exploded' }))
  await redis.xadd(keys.alertsHistory(), '*', 'x', 'unknown field')
  const good = await store.recordEvent(event(NOW))
  await redis.hset(keys.alertsFiring(), 'cpu-high|billing/web-1', '{"rule":"cpu-high"}', 'other|x', 'nope')
  const read = (await part.collect(NOW, undefined as never))!
  t.same(
    read.history.map((e) => e.id),
    [good],
  )
  t.same(read.firing, [])
})

t.test('each key of the wrong type reads as empty and is reported under its name; the other two are read', async (t) => {
  const record = { rule: 'cpu-high', metric: 'cpu' as const, target: 'billing/web-1', service: 'billing', nodeId: 'web-1', op: 'above' as const, value: 95, threshold: 90, firedAt: NOW, channels: ['ops'] }
  const squatters = { firing: keys.alertsFiring(), notified: keys.alertsNotified(), history: keys.alertsHistory() }
  for (const [which, key] of Object.entries(squatters)) {
    for (const squat of [(k: string) => redis.set(k, 'a string'), (k: string) => redis.rpush(k, 'a', 'list')]) {
      await redis.flushall()
      await store.fire(record, NOW, 60_000, true)
      const eventId = await store.recordEvent(event(NOW))
      await redis.del(key)
      await squat(key)
      const reported: [string, string][] = []
      const part = createAlertsCollector(redis, keys, { report: (k, reason) => reported.push([k, reason]) })
      const read = (await part.collect(NOW, undefined as never))!
      t.same(
        reported.map(([k, reason]) => [k, reason.split(' ')[0]]),
        [[key, 'WRONGTYPE']],
        `${which}: reported under its own name`,
      )
      t.same(
        read.firing.map((f) => [f.rule, f.notified]),
        which === 'firing' ? [] : [['cpu-high', which !== 'notified']],
        `${which}: the firing alerts as far as they can be read`,
      )
      t.same(
        read.history.map((e) => e.id),
        which === 'history' ? [] : [eventId],
        `${which}: the history as far as it can be read`,
      )
    }
  }
})

t.test('the store: one owner per episode, cool-down on the console clock, one closer', async (t) => {
  const record = { rule: 'cpu-high', metric: 'cpu' as const, target: 'billing/web-1', service: 'billing', nodeId: 'web-1', op: 'above' as const, value: 95, threshold: 90, firedAt: NOW, channels: ['ops'] }
  t.same(await store.fire(record, NOW, 60_000, true), { owner: true, send: true })
  t.same(await store.fire(record, NOW + 1, 60_000, true), { owner: false }, 'a second replica does not own it')
  t.equal(await store.remind('cpu-high', 'billing/web-1', NOW + 59_999, 60_000), false, 'cool-down not over')
  t.equal(await store.remind('cpu-high', 'billing/web-1', NOW + 60_000, 60_000), true)
  t.equal(await store.remind('cpu-high', 'billing/web-1', NOW + 60_001, 60_000), false, 'claimed by the first reminder')
  t.same(await store.close('cpu-high', 'billing/web-1'), { owner: true, announce: true })
  t.same(await store.close('cpu-high', 'billing/web-1'), { owner: false })
  t.equal(await store.remind('cpu-high', 'billing/web-1', NOW + 500_000, 60_000), false, 'no reminder for a closed episode')
  t.same(await store.fire(record, NOW + 100_000, 60_000, true), { owner: true, send: false }, 'a new episode inside the cool-down (the reminder restarted it)')
  t.same(await store.close('cpu-high', 'billing/web-1'), { owner: true, announce: false })
  const ttl = await redis.pttl(keys.alertsCooldown('cpu-high', 'billing/web-1'))
  t.ok(ttl > 0 && ttl <= 60_000, 'the key expires by itself')
})
