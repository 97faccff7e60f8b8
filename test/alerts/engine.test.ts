import t from 'tap'
import { createAlertEngine, type AlertIntent } from '../../server/alerts/engine.js'
import type { MetricName, MetricSample } from '../../server/alerts/metrics.js'
import { parseAlertRules } from '../../server/alerts/rules.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const S = 1_000
const M = 60_000

/** Rules through the real loader, so the defaults (clear, cooldown) are the ones users get. */
function rules(...input: object[]) {
  const channels = [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }]
  return parseAlertRules(JSON.stringify({ channels, rules: input }), 'rules.json').rules
}

function node(metric: MetricName, value: number, nodeId = 'web-1', service = 'billing'): MetricSample {
  return { target: { id: `${service}/${nodeId}`, service, nodeId }, metric, value }
}

function queue(metric: MetricName, value: number, name = 'emails', service = 'billing'): MetricSample {
  return { target: { id: `${service}/${name}`, service, queue: name }, metric, value }
}

/** Feeds `values` one per `stepMs` from `start`; returns the intents with their time. */
function feed(engine: ReturnType<typeof createAlertEngine>, start: number, stepMs: number, values: number[], sample: (v: number) => MetricSample) {
  const out: AlertIntent[] = []
  values.forEach((value, i) => out.push(...engine.evaluate({ at: start + i * stepMs, samples: [sample(value)] })))
  return out
}

const brief = (intents: AlertIntent[]) => intents.map((i) => ({ kind: i.kind, at: i.at - T0, notify: i.notify }))

t.test('a condition held for the whole window fires once, at the end of the window', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, for: '2m', channels: ['ops'] }))
  // every 10 s for 3 minutes at 95 %
  const intents = feed(engine, T0, 10 * S, Array(19).fill(95), (v) => node('cpu', v))
  t.same(brief(intents), [{ kind: 'firing', at: 2 * M, notify: true }])
  t.equal(intents[0]!.value, 95)
  t.equal(intents[0]!.target.id, 'billing/web-1')
  t.equal(intents[0]!.firedAt, T0 + 2 * M)
})

t.test('a spike shorter than the window never fires', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, for: '2m', channels: ['ops'] }))
  // 110 s above the line, then back down, then a long calm
  const values = [...Array(12).fill(99), ...Array(30).fill(40)]
  t.same(
    feed(engine, T0, 10 * S, values, (v) => node('cpu', v)),
    [],
  )
  t.same(engine.firing(), [])
})

t.test('one false sample restarts the window', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, for: '2m', channels: ['ops'] }))
  // 95 for 100 s, one 80 at 110 s, then 95 again: fires 2 minutes after 120 s, not at 120 s
  const values = [...Array(11).fill(95), 80, ...Array(14).fill(95)]
  t.same(brief(feed(engine, T0, 10 * S, values, (v) => node('cpu', v))), [{ kind: 'firing', at: 4 * M, notify: true }])
})

t.test('a value exactly at the line is not above it', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, channels: ['ops'] }))
  t.same(
    feed(engine, T0, 10 * S, [90, 90, 90], (v) => node('cpu', v)),
    [],
  )
  t.same(brief(feed(engine, T0 + M, 10 * S, [90.1], (v) => node('cpu', v))), [{ kind: 'firing', at: M, notify: true }])
})

t.test('hysteresis: hovering between the clear and trigger lines keeps firing without re-firing; passing clear resolves', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, for: '20s', channels: ['ops'] }))
  const fired = feed(engine, T0, 10 * S, [95, 95, 95], (v) => node('cpu', v))
  t.same(brief(fired), [{ kind: 'firing', at: 20 * S, notify: true }])
  // default clear for a percentage: 5 points back, so 85
  const hovering = feed(engine, T0 + 30 * S, 10 * S, [88, 91, 86, 89.9, 85, 92, 87], (v) => node('cpu', v))
  t.same(hovering, [], 'no resolve, no second firing while between 85 and 90')
  t.equal(engine.firing().length, 1)
  const resolved = feed(engine, T0 + 100 * S, 10 * S, [84.9], (v) => node('cpu', v))
  t.same(brief(resolved), [{ kind: 'resolved', at: 100 * S, notify: true }], 'resolve announced because firing was')
  t.equal(resolved[0]!.firedAt, T0 + 20 * S)
  t.equal(resolved[0]!.value, 84.9)
  t.same(engine.firing(), [])
})

t.test('an explicit clear line is used instead of the default', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, clear: 70, channels: ['ops'] }))
  feed(engine, T0, 10 * S, [95], (v) => node('cpu', v))
  t.same(
    feed(engine, T0 + 10 * S, 10 * S, [80, 75, 70], (v) => node('cpu', v)),
    [],
  )
  t.same(brief(feed(engine, T0 + M, 10 * S, [69], (v) => node('cpu', v))), [{ kind: 'resolved', at: M, notify: true }])
})

t.test('cool-down: a new episode within it fires silently, and is announced once the cool-down ends if still firing', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, cooldown: '30m', channels: ['ops'] }))
  const at = (minutes: number, value: number) => brief(engine.evaluate({ at: T0 + minutes * M, samples: [node('cpu', value)] }))
  t.same(at(0, 95), [{ kind: 'firing', at: 0, notify: true }])
  t.same(at(5, 50), [{ kind: 'resolved', at: 5 * M, notify: true }])
  t.same(at(10, 95), [{ kind: 'firing', at: 10 * M, notify: false }], 'within 30 minutes of the last message: no message')
  t.same(at(20, 95), [])
  t.same(at(29, 95), [])
  t.same(at(30, 95), [{ kind: 'reminder', at: 30 * M, notify: true }], 'still firing when the cool-down ends: one message')
  t.same(at(45, 95), [])
  t.same(at(60, 95), [{ kind: 'reminder', at: 60 * M, notify: true }], 'and once more per cool-down while it lasts')
  t.same(at(61, 10), [{ kind: 'resolved', at: 61 * M, notify: true }])
})

t.test('cool-down: a silent episode that resolves inside the cool-down announces nothing', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, cooldown: '30m', channels: ['ops'] }))
  const at = (minutes: number, value: number) => brief(engine.evaluate({ at: T0 + minutes * M, samples: [node('cpu', value)] }))
  at(0, 95)
  at(1, 50)
  t.same(at(2, 95), [{ kind: 'firing', at: 2 * M, notify: false }])
  t.same(at(3, 50), [{ kind: 'resolved', at: 3 * M, notify: false }], 'nothing was announced, so the resolve is not either')
  t.same(at(31, 95), [{ kind: 'firing', at: 31 * M, notify: true }], 'after the cool-down a new episode is announced')
})

t.test('cool-downs are per target: another node fires with its own message', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, channels: ['ops'] }))
  const first = engine.evaluate({ at: T0, samples: [node('cpu', 95, 'web-1'), node('cpu', 20, 'web-2')] })
  const second = engine.evaluate({ at: T0 + M, samples: [node('cpu', 95, 'web-1'), node('cpu', 97, 'web-2')] })
  t.same(
    first.map((i) => [i.kind, i.target.id, i.notify]),
    [['firing', 'billing/web-1', true]],
  )
  t.same(
    second.map((i) => [i.kind, i.target.id, i.notify]),
    [['firing', 'billing/web-2', true]],
  )
})

t.test('a rule without channels fires and resolves with no message and no repeats', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, cooldown: '1m' }))
  const intents = feed(engine, T0, M, [95, 95, 95, 95, 10], (v) => node('cpu', v))
  t.same(brief(intents), [
    { kind: 'firing', at: 0, notify: false },
    { kind: 'resolved', at: 4 * M, notify: false },
  ])
})

t.test('disk below 10 % free clears only above 15 %', async (t) => {
  const engine = createAlertEngine(rules({ name: 'disk-low', metric: 'disk', below: 10, for: '1m', channels: ['ops'] }))
  const intents = feed(engine, T0, 30 * S, [9, 8, 7, 12, 14.9, 15, 15.1], (v) => node('disk', v))
  t.same(brief(intents), [
    { kind: 'firing', at: M, notify: true },
    { kind: 'resolved', at: 3 * M, notify: true },
  ])
})

t.test('node lost fires at once and resolves when the node is back', async (t) => {
  const engine = createAlertEngine(rules({ name: 'node-lost', metric: 'node_lost', channels: ['ops'] }))
  const intents = feed(engine, T0, 2 * S, [0, 0, 1, 1, 1, 0], (v) => node('node_lost', v))
  t.same(brief(intents), [
    { kind: 'firing', at: 4 * S, notify: true },
    { kind: 'resolved', at: 10 * S, notify: true },
  ])
})

t.test('queue backlog: above a count for a duration, clearing 5 % below it', async (t) => {
  const engine = createAlertEngine(rules({ name: 'backlog', metric: 'queue_backlog', above: 1000, for: '1m', channels: ['ops'] }))
  const intents = feed(engine, T0, 30 * S, [1500, 1500, 1500, 960, 951, 949], (v) => queue('queue_backlog', v))
  t.same(brief(intents), [
    { kind: 'firing', at: M, notify: true },
    { kind: 'resolved', at: 150 * S, notify: true },
  ])
  t.equal(intents[0]!.target.queue, 'emails')
})

t.test('failed-job spike: a rise of more than N within the window fires; a high but steady count does not', async (t) => {
  const engine = createAlertEngine(rules({ name: 'spike', metric: 'queue_failed', above: 10, window: '5m', channels: ['ops'] }))
  // a large count already there when the console starts is not a spike
  t.same(
    feed(engine, T0, M, [5000, 5000, 5000], (v) => queue('queue_failed', v)),
    [],
  )
  // +4, +4, +4 within three minutes: 12 new failures
  const intents = feed(engine, T0 + 3 * M, M, [5004, 5008, 5012], (v) => queue('queue_failed', v))
  t.same(brief(intents), [{ kind: 'firing', at: 5 * M, notify: true }])
  t.equal(intents[0]!.value, 12, 'the value is the rise, not the count')
  // steady afterwards: at 7 m the first +4 has left the 5-minute window, the rise is 8, under the
  // clear line (5 % below 10: 9.5), so it resolves
  const after = feed(engine, T0 + 6 * M, M, [5012, 5012, 5012, 5012, 5012, 5012], (v) => queue('queue_failed', v))
  t.same(brief(after), [{ kind: 'resolved', at: 7 * M, notify: true }])
  t.equal(after[0]!.value, 8)
})

t.test('failed-job spike: a slow rise spread over more than the window does not fire', async (t) => {
  const engine = createAlertEngine(rules({ name: 'spike', metric: 'queue_failed', above: 10, window: '5m', channels: ['ops'] }))
  // +1 a minute for an hour: 60 failures, but never more than 5 within 5 minutes
  const values = Array.from({ length: 61 }, (_, i) => 100 + i)
  t.same(
    feed(engine, T0, M, values, (v) => queue('queue_failed', v)),
    [],
  )
})

t.test('failed-job spike: a counter reset is not a negative rise, and what rises after it counts', async (t) => {
  const engine = createAlertEngine(rules({ name: 'spike', metric: 'queue_failed', above: 10, window: '5m', channels: ['ops'] }))
  // 8 failures, then the failed set is cleaned (count drops to 0), then 4 more: 12 new in the window
  const intents = feed(engine, T0, 30 * S, [200, 204, 208, 0, 2, 4], (v) => queue('queue_failed', v))
  t.same(brief(intents), [{ kind: 'firing', at: 150 * S, notify: true }])
  t.equal(intents[0]!.value, 12)
  // a retry (count goes down by one) while nothing new fails adds nothing
  const engine2 = createAlertEngine(rules({ name: 'spike', metric: 'queue_failed', above: 10, window: '5m', channels: ['ops'] }))
  t.same(feed(engine2, T0, 30 * S, [50, 49, 50, 49, 50, 49, 50, 49], (v) => queue('queue_failed', v)).length, 0)
})

t.test('service and queue filters limit a rule to its targets', async (t) => {
  const engine = createAlertEngine(
    rules({ name: 'billing-cpu', metric: 'cpu', above: 90, service: 'billing', channels: ['ops'] }, { name: 'emails-backlog', metric: 'queue_backlog', above: 10, queue: 'emails', channels: ['ops'] }),
  )
  const intents = engine.evaluate({
    at: T0,
    samples: [node('cpu', 99, 'web-1', 'billing'), node('cpu', 99, 'web-1', 'search'), queue('queue_backlog', 50, 'emails'), queue('queue_backlog', 50, 'reports')],
  })
  t.same(
    intents.map((i) => `${i.rule.name} ${i.target.id}`),
    ['billing-cpu billing/web-1', 'emails-backlog billing/emails'],
  )
})

t.test('a target that stops reporting: pending starts over, firing is dropped as gone after a while', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, for: '1m', channels: ['ops'] }), { forgetAfterMs: 10 * M })
  const other = node('cpu', 10, 'web-2')
  engine.evaluate({ at: T0, samples: [node('cpu', 95)] })
  engine.evaluate({ at: T0 + 30 * S, samples: [other] })
  t.same(engine.evaluate({ at: T0 + 60 * S, samples: [node('cpu', 95)] }), [], 'a missing sample restarted the window')
  t.same(brief(engine.evaluate({ at: T0 + 120 * S, samples: [node('cpu', 95)] })), [{ kind: 'firing', at: 2 * M, notify: true }])
  t.same(engine.evaluate({ at: T0 + 5 * M, samples: [other] }), [], 'still firing while away for less than 10 minutes')
  t.same(brief(engine.evaluate({ at: T0 + 12 * M, samples: [other] })), [{ kind: 'gone', at: 12 * M, notify: false }])
  t.same(engine.firing(), [])
})

t.test('interrupt (Redis unreachable) restarts pending windows but keeps firing alerts', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, for: '1m', channels: ['ops'] }))
  engine.evaluate({ at: T0, samples: [node('cpu', 95, 'web-1'), node('cpu', 95, 'web-2')] })
  engine.evaluate({ at: T0 + M, samples: [node('cpu', 95, 'web-1')] })
  engine.evaluate({ at: T0 + 30 * S, samples: [node('cpu', 95, 'web-2')] })
  engine.interrupt()
  const intents = engine.evaluate({ at: T0 + 2 * M, samples: [node('cpu', 95, 'web-1'), node('cpu', 95, 'web-2')] })
  t.same(intents, [], 'web-2 starts its window again; web-1 keeps firing')
  t.same(
    engine.firing().map((f) => f.target),
    ['billing/web-1'],
  )
})

t.test('unread metrics: their rules wait (pending restarts, firing holds past the forget time), the others run', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, for: '1m', channels: ['ops'] }, { name: 'backlog', metric: 'queue_backlog', above: 100, for: '1m', channels: ['ops'] }), {
    forgetAfterMs: 10 * M,
  })
  const unread = new Set<MetricName>(['queue_backlog'])
  engine.evaluate({ at: T0, samples: [node('cpu', 95, 'web-1'), node('cpu', 95, 'web-2'), queue('queue_backlog', 500)] })
  t.same(brief(engine.evaluate({ at: T0 + M, samples: [node('cpu', 95, 'web-1')], unread })), [{ kind: 'firing', at: M, notify: true }], 'cpu is read: web-1 fires, web-2 (absent) starts again')
  t.same(engine.evaluate({ at: T0 + 2 * M, samples: [queue('queue_backlog', 500)] }), [], 'the backlog window restarted at the unread tick')
  t.same(brief(engine.evaluate({ at: T0 + 3 * M, samples: [queue('queue_backlog', 500)] })), [{ kind: 'firing', at: 3 * M, notify: true }])
  // twenty minutes with cpu unread: web-1 neither resolves nor is forgotten
  const cpuUnread = new Set<MetricName>(['cpu'])
  for (let minute = 4; minute <= 24; minute++) t.same(engine.evaluate({ at: T0 + minute * M, samples: [queue('queue_backlog', 500)], unread: cpuUnread }), [])
  t.same(
    engine.firing().map((f) => f.rule + ' ' + f.target),
    ['cpu-high billing/web-1', 'backlog billing/emails'],
  )
  t.same(brief(engine.evaluate({ at: T0 + 25 * M, samples: [node('cpu', 10, 'web-1'), queue('queue_backlog', 500)] })), [{ kind: 'resolved', at: 25 * M, notify: true }])
})

t.test('restore continues alerts firing before a restart and hands back those of removed rules', async (t) => {
  const engine = createAlertEngine(rules({ name: 'cpu-high', metric: 'cpu', above: 90, channels: ['ops'] }))
  const target = { id: 'billing/web-1', service: 'billing', nodeId: 'web-1' }
  const orphans = engine.restore(
    [
      { rule: 'cpu-high', target, value: 96, firedAt: T0 - 5 * M },
      { rule: 'removed-rule', target, value: 1, firedAt: T0 - 5 * M },
    ],
    T0,
  )
  t.same(
    orphans.map((o) => o.rule),
    ['removed-rule'],
  )
  t.same(engine.evaluate({ at: T0, samples: [node('cpu', 97)] }), [], 'no second firing for an alert already firing')
  const resolved = engine.evaluate({ at: T0 + M, samples: [node('cpu', 10)] })
  t.same(brief(resolved), [{ kind: 'resolved', at: M, notify: true }])
  t.equal(resolved[0]!.firedAt, T0 - 5 * M)
})
