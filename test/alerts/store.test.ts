/**
 * The alert store's batches: many transitions in one round trip, each reader holding its own
 * result whatever the mix and order, one item's error staying its own, and scripts that survive a
 * SCRIPT FLUSH. Against a real Redis.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { useRedis } from '../helpers/redis-server.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { alertField, createAlertStore, type CloseResult, type FireResult } from '../../server/alerts/store.js'
import type { FiringRecord } from '../../server/alerts/schemas.js'
import { shuffled } from '../helpers/shuffle.js'

const { redis } = await useRedis(t)
const keys = createConsoleKeys('gravito:quasar:')
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)
const COOLDOWN = 60_000

t.beforeEach(async () => {
  await redis.flushall()
})

/** The same client, counting the pipelines it sends. */
function counting(client: Redis) {
  const counter = { pipelines: 0 }
  const proxy = new Proxy(client, {
    get(target, prop) {
      if (prop === 'pipeline') {
        return () => {
          const pipeline = target.pipeline()
          const exec = pipeline.exec.bind(pipeline)
          pipeline.exec = () => (counter.pipelines++, exec())
          return pipeline
        }
      }
      const value = Reflect.get(target, prop)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { redis: proxy, counter }
}

function record(target: string): FiringRecord {
  return { rule: 'cpu-high', metric: 'cpu', target, service: 'fleet', nodeId: target.split('/')[1]!, op: 'above', value: 95, threshold: 90, firedAt: NOW, channels: ['ops'] }
}

t.test('a mixed batch in many orders: one round trip, and each reader holds its own result', async (t) => {
  const targets = Array.from({ length: 240 }, (_, i) => `fleet/n-${i}`)
  // states before the batch, by target index: 0 nothing, 1 firing and notified, 2 firing without a
  // message, 3 firing with the cool-down still running
  const stateOf = (i: number) => i % 4
  for (const [round, seed] of [1, 7, 42].entries()) {
    await redis.flushall()
    const { redis: client, counter } = counting(redis)
    const store = createAlertStore(client, keys)
    const seeding = store.transitions()
    for (const [i, target] of targets.entries()) {
      const state = stateOf(i)
      if (state === 0) continue
      seeding.fire(record(target), NOW - (state === 3 ? 1_000 : 2 * COOLDOWN), COOLDOWN, state !== 2)
    }
    await seeding.exec()

    type Expectation = { kind: 'fire'; read: () => FireResult; want: FireResult } | { kind: 'close'; read: () => CloseResult; want: CloseResult } | { kind: 'remind'; read: () => boolean; want: boolean }
    const batch = store.transitions()
    const expectations: { target: string; check: Expectation }[] = []
    for (const [i, target] of shuffled([...targets.entries()], seed)) {
      const state = stateOf(i)
      // each target gets one operation, chosen by index and round, so kinds meet every state
      const op = (['fire', 'close', 'remind'] as const)[(i + round) % 3]!
      if (op === 'fire') {
        const want: FireResult = state === 0 ? { owner: true, send: true } : { owner: false }
        expectations.push({ target, check: { kind: 'fire', read: batch.fire(record(target), NOW, COOLDOWN, true), want } })
      } else if (op === 'close') {
        const want: CloseResult = state === 0 ? { owner: false } : { owner: true, announce: state !== 2 }
        expectations.push({ target, check: { kind: 'close', read: batch.close('cpu-high', target), want } })
      } else {
        // a reminder needs an open episode whose cool-down is over
        const want = state === 1 || state === 2
        expectations.push({ target, check: { kind: 'remind', read: batch.remind('cpu-high', target, NOW, COOLDOWN), want } })
      }
    }
    const before = counter.pipelines
    await batch.exec()
    t.equal(counter.pipelines - before, 1, `round ${round}: ${targets.length} transitions in one round trip`)
    for (const { target, check } of expectations) t.same(check.read(), check.want, `round ${round}: ${check.kind} ${target}`)
  }
})

t.test("one transition's error stays its own; the neighbours are applied", async (t) => {
  const store = createAlertStore(redis, keys)
  // a cool-down key of the wrong type makes the script fail for that target only
  await redis.hset(keys.alertsCooldown('cpu-high', 'fleet/n-1'), 'x', '1')
  const batch = store.transitions()
  const results = ['fleet/n-0', 'fleet/n-1', 'fleet/n-2'].map((target) => batch.fire(record(target), NOW, COOLDOWN, true))
  await batch.exec()
  t.same(results[0]!(), { owner: true, send: true })
  t.throws(() => results[1]!(), /WRONGTYPE/)
  t.same(results[2]!(), { owner: true, send: true })
  t.equal(await redis.hget(keys.alertsNotified(), alertField('cpu-high', 'fleet/n-2')), '1')
})

t.test('scripts run by SHA1 and are loaded in the same round trip, so a SCRIPT FLUSH costs nothing', async (t) => {
  const store = createAlertStore(redis, keys)
  await redis.config('RESETSTAT')
  const batch = store.transitions()
  for (let i = 0; i < 50; i++) batch.fire(record(`fleet/n-${i}`), NOW, COOLDOWN, true)
  await batch.exec()
  const stats = String(await redis.info('commandstats'))
  t.match(stats, /cmdstat_evalsha:calls=50,/)
  t.match(stats, /cmdstat_script\|load:calls=1,|cmdstat_script:calls=1,/, "the script's text went once")
  t.notMatch(stats, /cmdstat_eval:/)

  await redis.script('FLUSH')
  t.same(await store.close('cpu-high', 'fleet/n-0'), { owner: true, announce: true })
  const events = store.events()
  const id = events.record({ ...record('fleet/n-0'), kind: 'resolved', at: NOW, message: 'queued' })
  await events.exec()
  t.match(id(), /^\d+-\d+$/)
})
