import t from 'tap'
import type { NodeRecord, Snapshot } from '../../server/collector/snapshot.js'
import { metricsFromSnapshot } from '../../server/alerts/metrics.js'
import type { QueueRecord } from '../../server/queues/records.js'
import type { Heartbeat } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)

/** `seenAt` is the console's time of the last new beat; the beat's own timestamp is `overrides.timestamp` or the same */
function record(nodeId: string, seenAt: number, keyPresent = true, overrides: Partial<Heartbeat> = {}): NodeRecord {
  const heartbeat = sampleHeartbeat({ timestamp: seenAt, id: nodeId, ...overrides })
  return { service: 'billing', nodeId, heartbeat, lastSeenAt: heartbeat.timestamp, seenAt, keyPresent, goneAt: keyPresent ? null : seenAt + 5_000 }
}

function snapshot(nodes: NodeRecord[], extra: object = {}): Snapshot {
  return { version: 1, generatedAt: NOW, readMs: 0, redis: { up: true, downSince: null }, parts: {}, nodes, ...extra } as Snapshot
}

const values = (s: Snapshot) => metricsFromSnapshot(s).samples.map((x) => [x.target.id, x.metric, Math.round(x.value * 100) / 100])

t.test('a live node gives cpu, memory used % and disk free %, and node_lost 0', async (t) => {
  const node = record('web-1', NOW - 5_000, true, {
    cpu: { system: 93.5, process: 3, cores: 2 },
    memory: { system: { total: 8e9, free: 1e9, used: 7.6e9 }, process: { rss: 1, heapTotal: 1, heapUsed: 1 } },
    disk: { path: '/', total: 200e9, free: 16e9 },
  })
  t.same(values(snapshot([node])), [
    ['billing/web-1', 'node_lost', 0],
    ['billing/web-1', 'cpu', 93.5],
    ['billing/web-1', 'memory', 95],
    ['billing/web-1', 'disk', 8],
  ])
})

t.test('a node with no new beat read for over 30 s gives node_lost 1 and none of its stale values', async (t) => {
  t.same(values(snapshot([record('gone', NOW - 31_000, false)])), [['billing/gone', 'node_lost', 1]])
  t.same(values(snapshot([record('silent', NOW - 31_000, true)])), [['billing/silent', 'node_lost', 1]], 'silent while its key stays')
  t.same(values(snapshot([record('stale', NOW - 20_000, true)]))[0], ['billing/stale', 'node_lost', 0], 'stale is not lost')
})

t.test('a key gone with a beat read under 30 s ago is not lost (Redis flushed): its last values stand', async (t) => {
  t.same(
    values(snapshot([record('flushed', NOW - 10_000, false)])).map(([, metric, value]) => [metric, value]),
    [
      ['node_lost', 0],
      ['cpu', 42.5],
      ['memory', 62.5],
      ['disk', 40],
    ],
  )
  t.same(values(snapshot([record('flushed', NOW - 30_000, false)]))[0], ['billing/flushed', 'node_lost', 0], 'exactly 30 s is not yet lost')
})

t.test("lost is judged by the console's clock, whatever the beat's timestamp says", async (t) => {
  const cases: [string, number][] = [
    ['ahead', NOW + 3_600_000],
    ['huge', 1e308],
    ['seconds', Math.floor(NOW / 1000)],
    ['past', NOW - 86_400_000 * 30],
  ]
  for (const [nodeId, timestamp] of cases) {
    t.same(values(snapshot([record(nodeId, NOW - 2_000, true, { timestamp })]))[0], [`billing/${nodeId}`, 'node_lost', 0], `${nodeId}: beating, not lost`)
    t.same(values(snapshot([record(nodeId, NOW - 31_000, true, { timestamp })]))[0], [`billing/${nodeId}`, 'node_lost', 1], `${nodeId}: silent, lost`)
  }
})

t.test('fields an agent did not send give no sample, and a zero total gives no division', async (t) => {
  const bare: NodeRecord = {
    service: 'php',
    nodeId: 'h1',
    heartbeat: { timestamp: NOW, memory: { system: { total: 0, free: 0, used: 0 }, process: { rss: 0, heapTotal: 0, heapUsed: 0 } } },
    lastSeenAt: NOW,
    seenAt: NOW,
    keyPresent: true,
    goneAt: null,
  }
  t.same(values(snapshot([bare])), [['php/h1', 'node_lost', 0]])
})

t.test('the backlog counts the jobs a paused queue holds', async (t) => {
  const items = [
    { service: 'billing', name: 'send email', waiting: 0, paused: 4_200, isPaused: true, failed: 0 },
    { service: 'billing', name: 'a:b', waiting: 7, paused: 0, failed: 0 },
    { service: 'billing', name: 'older-agent', waiting: 12, failed: 0 },
  ]
  t.same(
    values(snapshot([], { queues: { items } })).filter(([, metric]) => metric === 'queue_backlog'),
    [
      ['billing/send email', 'queue_backlog', 4_200],
      ['billing/a:b', 'queue_backlog', 7],
      ['billing/older-agent', 'queue_backlog', 12],
    ],
  )
})

t.test('queue metrics come from the queue records; a count not measured gives no sample', async (t) => {
  const record = (name: string, counts: Partial<QueueRecord>): QueueRecord => ({
    service: 'billing',
    name,
    driver: 'bullmq',
    source: 'agent',
    commands: [],
    waiting: null,
    active: null,
    delayed: null,
    failed: null,
    timestamp: NOW,
    ...counts,
  })
  const items = [
    record('emails', { waiting: 1200, failed: 31, active: 2 }),
    record('reports', { waiting: 3 }),
    record('broken', { error: 'WRONGTYPE' }),
    record('found', { source: 'discovered', waiting: 0, failed: 0, paused: 5, isPaused: true }),
    { ...record('index', { failed: 4 }), service: 'search' },
  ]
  const expected = [
    ['billing/emails', 'queue_backlog', 1200],
    ['billing/emails', 'queue_failed', 31],
    ['billing/reports', 'queue_backlog', 3],
    ['billing/found', 'queue_backlog', 5],
    ['billing/found', 'queue_failed', 0],
    ['search/index', 'queue_failed', 4],
  ]
  t.same(values(snapshot([], { queues: { items } })), expected)
  const reversed = values(snapshot([], { queues: { items: [...items].reverse() } }))
  t.same([...reversed].sort(), [...expected].sort(), 'the same samples in any order of records')
  t.same(values(snapshot([], { queues: { items: [] } })), [])
  t.same(values(snapshot([])), [], 'no queues part at all')
  const sample = metricsFromSnapshot(snapshot([], { queues: { items } })).samples[0]!
  t.same([sample.target.service, sample.target.queue, sample.target.nodeId], ['billing', 'emails', undefined])
})

t.test('a part that failed this tick gives no samples and marks its metrics unread', async (t) => {
  const failed = { ok: false, failures: 2, readAt: NOW - 20_000, reason: 'failed', errorId: 'ab12cd34' }
  const ok = { ok: true, failures: 0, readAt: NOW, reason: null, errorId: null }
  // both lost by the console's clock, so a read nodes part gives node_lost only
  const nodes = [record('web-1', NOW - 40_000), record('web-2', NOW - 35_000, false)]
  const queues = { items: [{ service: 'billing', name: 'emails', waiting: 1200, failed: 3 }] }
  const unread = (parts: object) => [...(metricsFromSnapshot(snapshot(nodes, { queues, parts })).unread ?? [])].sort()
  const ids = (parts: object) => [...new Set(metricsFromSnapshot(snapshot(nodes, { queues, parts })).samples.map((s) => s.metric))].sort()

  t.same(unread({ nodes: failed, queues: ok }), ['cpu', 'disk', 'memory', 'node_lost'])
  t.same(ids({ nodes: failed, queues: ok }), ['queue_backlog', 'queue_failed'], 'the stale records would read as lost: left out')
  t.same(unread({ nodes: ok, queues: failed }), ['queue_backlog', 'queue_failed', 'queue_wait'])
  t.same(ids({ nodes: ok, queues: failed }), ['node_lost'])
  t.same(unread({ nodes: failed, queues: failed }), ['cpu', 'disk', 'memory', 'node_lost', 'queue_backlog', 'queue_failed', 'queue_wait'])
  t.same(ids({ nodes: failed, queues: failed }), [])
  t.same(unread({ nodes: ok, queues: ok }), [])
  t.same(unread({}), [], 'a part with no status (not registered) is read as it is')
  t.same(ids({}), ['node_lost', 'queue_backlog', 'queue_failed'])
})
