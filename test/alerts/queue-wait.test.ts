/**
 * The queue_wait metric: the age of a queue's oldest waiting job. Its rules take durations; its
 * samples come from every kind of queue record (age known, queue empty, age unknown, not read);
 * and the engine, driven by a fake clock, gives it the same `for`, hysteresis, cool-down and
 * resolve as every other metric.
 */
import t from 'tap'
import { createAlertEngine, type AlertIntent } from '../../server/alerts/engine.js'
import { metricsFromSnapshot, type MetricSample } from '../../server/alerts/metrics.js'
import { parseAlertRules } from '../../server/alerts/rules.js'
import { describeCondition, formatValue } from '../../server/alerts/channels/message.js'
import type { Snapshot } from '../../server/collector/snapshot.js'
import type { QueueRecord } from '../../server/queues/records.js'
import { shuffled } from '../helpers/shuffle.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const S = 1_000
const M = 60_000

function rules(...input: object[]) {
  const channels = [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }]
  return parseAlertRules(JSON.stringify({ channels, rules: input }), 'rules.json').rules
}

function wait(value: number, name = 'emails', service = 'billing'): MetricSample {
  return { target: { id: `${service}/${name}`, service, queue: name }, metric: 'queue_wait', value }
}

const brief = (intents: AlertIntent[]) => intents.map((i) => ({ kind: i.kind, at: i.at - T0, notify: i.notify, value: i.value }))

t.test('rules: thresholds are durations, a bare number is ms, and only queue_wait takes a duration', async (t) => {
  const [byString, byNumber] = rules(
    { name: 'slow-emails', metric: 'queue_wait', above: '5m', for: '1m', queue: 'emails', channels: ['ops'] },
    { name: 'ms', metric: 'queue_wait', above: 90_000, clear: '1m', channels: [] },
  )
  t.match(byString, { metric: 'queue_wait', op: 'above', threshold: 300_000, clear: 285_000, forMs: 60_000, queue: 'emails' }, 'clears 5 % below the trigger by default')
  t.match(byNumber, { threshold: 90_000, clear: 60_000 })
  t.throws(() => rules({ name: 'x', metric: 'queue_wait', above: '5 minutes', channels: [] }), /rules\[0\] \(x\)\.above: "5 minutes" is not a duration/)
  t.throws(() => rules({ name: 'x', metric: 'cpu', above: '5m', channels: [] }), /rules\[0\] \(x\)\.above: cpu takes a number/)
  t.throws(() => rules({ name: 'x', metric: 'queue_wait', above: '5m', clear: '6m', channels: [] }), /clear: must be at or below the trigger/)
  t.throws(() => rules({ name: 'x', metric: 'queue_wait', above: -5, channels: [] }), /queue_wait is a duration/)
  t.match(parseAlertRules('rules: [{ name: w, metric: queue_wait, above: 2m, for: 30s }]', 'a.yaml').rules[0], { threshold: 120_000, forMs: 30_000 }, 'YAML reads the same')
  t.equal(describeCondition(byString!), 'oldest waiting job older than 5m')
  t.equal(formatValue('queue_wait', 723_400), '12m 3s')
})

t.test('the defaults include a queue-wait rule', async (t) => {
  const defaults = parseAlertRules('{}', 'none.json').rules
  t.match(
    defaults.find((rule) => rule.metric === 'queue_wait'),
    { name: 'queue-wait', threshold: 300_000, forMs: 60_000 },
  )
})

/** Every state a queue record can be in, for the wait it gives. */
const RECORDS: [Partial<QueueRecord> & { name: string }, number | null][] = [
  [{ name: 'old', waiting: 40, oldestWaitingMs: 720_000 }, 720_000],
  [{ name: 'young', waiting: 1, oldestWaitingMs: 250 }, 250],
  [{ name: 'empty', waiting: 0 }, 0],
  [{ name: 'empty-paused', waiting: 0, paused: 0, isPaused: true }, 0],
  [{ name: 'paused-held', waiting: 0, paused: 12, isPaused: true, oldestWaitingMs: 3_600_000 }, 3_600_000],
  [{ name: 'paused-no-age', waiting: 0, paused: 12, isPaused: true }, null],
  [{ name: 'agent-no-age', waiting: 7 }, null],
  [{ name: 'unread', waiting: null, error: 'WRONGTYPE' }, null],
  [{ name: 'unread-with-age', waiting: null, oldestWaitingMs: 5_000 }, 5_000],
  [{ name: 'bad-age', waiting: 3, oldestWaitingMs: -1 }, null],
  [{ name: 'nan-age', waiting: 3, oldestWaitingMs: Number.NaN }, null],
  [{ name: 'a:b c', waiting: 2, oldestWaitingMs: 61_000 }, 61_000],
]

function queueRecord(fields: Partial<QueueRecord> & { name: string }, service = 'billing'): QueueRecord {
  return { service, driver: 'bullmq', source: 'agent', commands: [], waiting: 0, active: 0, delayed: 0, failed: 0, timestamp: T0, ...fields }
}

for (const seed of [1, 7, 42]) {
  t.test(`seed ${seed}: each queue record gives its own wait, or none when its age is unknown`, async (t) => {
    const items = shuffled(
      RECORDS.flatMap(([fields]) => [queueRecord(fields), queueRecord(fields, 'search')]),
      seed,
    )
    const snapshot = { version: 1, generatedAt: T0, redis: { up: true, downSince: null }, parts: {}, nodes: [], queues: { items } } as unknown as Snapshot
    const got = new Map(
      metricsFromSnapshot(snapshot)
        .samples.filter((s) => s.metric === 'queue_wait')
        .map((s) => [s.target.id, s.value]),
    )
    for (const service of ['billing', 'search']) {
      for (const [fields, expected] of RECORDS) t.equal(got.get(`${service}/${fields.name}`) ?? null, expected, `${service}/${fields.name}`)
    }
    t.equal(got.size, RECORDS.filter(([, expected]) => expected !== null).length * 2, 'no other sample')
  })
}

t.test('a failed queues part leaves queue_wait unread', async (t) => {
  const snapshot = {
    version: 1,
    generatedAt: T0,
    redis: { up: true, downSince: null },
    parts: { queues: { ok: false } },
    nodes: [],
    queues: { items: [queueRecord({ name: 'old', oldestWaitingMs: 999_999 })] },
  } as unknown as Snapshot
  const source = metricsFromSnapshot(snapshot)
  t.ok(source.unread?.has('queue_wait'))
  t.same(
    source.samples.filter((s) => s.metric === 'queue_wait'),
    [],
  )
})

t.test('fires once the wait held above the line for the whole `for`, then resolves only below clear', async (t) => {
  const engine = createAlertEngine(rules({ name: 'wait', metric: 'queue_wait', above: '2m', for: '1m', channels: ['ops'] }))
  const out: AlertIntent[] = []
  // every 15 s the oldest job is 15 s older: over 2 m from 135 s on
  for (let at = 0; at <= 240 * S; at += 15 * S) out.push(...engine.evaluate({ at: T0 + at, samples: [wait(at)] }))
  t.same(brief(out), [{ kind: 'firing', at: 195 * S, notify: true, value: 195 * S }], 'pending from 135 s, fired 60 s later')
  t.same(engine.firing(), [{ rule: 'wait', target: 'billing/emails', firedAt: T0 + 195 * S }])

  // a burst of workers takes it to 1 m 55 s: between clear (1 m 54 s) and trigger, still firing
  t.same(engine.evaluate({ at: T0 + 255 * S, samples: [wait(115 * S)] }), [], 'hysteresis: no resolve just under the line')
  t.same(engine.evaluate({ at: T0 + 270 * S, samples: [wait(130 * S)] }), [], 'back over the line: still the same episode')
  t.same(brief(engine.evaluate({ at: T0 + 285 * S, samples: [wait(113 * S)] })), [{ kind: 'resolved', at: 285 * S, notify: true, value: 113 * S }], 'below clear: resolved')
})

t.test('a wait that dips under the line restarts the `for` window', async (t) => {
  const engine = createAlertEngine(rules({ name: 'wait', metric: 'queue_wait', above: '2m', for: '1m', channels: ['ops'] }))
  const values = [150, 150, 150, 60, 150, 150, 150, 150, 150].map((s) => s * S)
  const out = values.flatMap((value, i) => engine.evaluate({ at: T0 + i * 20 * S, samples: [wait(value)] }))
  t.same(brief(out), [{ kind: 'firing', at: 140 * S, notify: true, value: 150 * S }], 'fired 60 s after the dip at 60 s, not at 40 s')
})

t.test('an emptied queue (wait 0) resolves; a queue whose age turns unknown holds, then is forgotten', async (t) => {
  const engine = createAlertEngine(rules({ name: 'wait', metric: 'queue_wait', above: '1m', channels: ['ops'] }), { forgetAfterMs: 5 * M })
  t.same(brief(engine.evaluate({ at: T0, samples: [wait(90 * S, 'a'), wait(90 * S, 'b')] })).length, 2)
  t.same(brief(engine.evaluate({ at: T0 + 10 * S, samples: [wait(0, 'a')] })), [{ kind: 'resolved', at: 10 * S, notify: true, value: 0 }], 'a emptied: resolved')
  t.same(engine.firing(), [{ rule: 'wait', target: 'billing/b', firedAt: T0 }], 'b without a reading still fires')
  t.same(brief(engine.evaluate({ at: T0 + 5 * M, samples: [] })), [{ kind: 'gone', at: 5 * M, notify: false, value: 90 * S }], 'b gone after forgetAfter')
})

t.test('cool-down: a new episode within it fires without a message; a still-firing one is repeated once it ends', async (t) => {
  const engine = createAlertEngine(rules({ name: 'wait', metric: 'queue_wait', above: '1m', cooldown: '10m', channels: ['ops'] }))
  const at = (minutes: number, value: number) => brief(engine.evaluate({ at: T0 + minutes * M, samples: [wait(value)] }))
  t.same(at(0, 2 * M), [{ kind: 'firing', at: 0, notify: true, value: 2 * M }])
  t.same(at(1, 0), [{ kind: 'resolved', at: M, notify: true, value: 0 }])
  t.same(at(2, 3 * M), [{ kind: 'firing', at: 2 * M, notify: false, value: 3 * M }], 'within the cool-down: shown, not sent')
  t.same(at(5, 6 * M), [], 'still firing, cool-down running')
  t.same(at(10, 11 * M), [{ kind: 'reminder', at: 10 * M, notify: true, value: 11 * M }], 'the cool-down ended while it fired: one reminder')
  t.same(at(11, 12 * M), [])
})

t.test('a queue filter scopes the rule to its queue in every service', async (t) => {
  const engine = createAlertEngine(rules({ name: 'emails-wait', metric: 'queue_wait', above: '1m', queue: 'emails', channels: [] }))
  const out = engine.evaluate({ at: T0, samples: [wait(2 * M, 'emails'), wait(2 * M, 'reports'), wait(2 * M, 'emails', 'search')] })
  t.same(out.map((i) => i.target.id).sort(), ['billing/emails', 'search/emails'])
})
