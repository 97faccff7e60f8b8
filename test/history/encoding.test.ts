/**
 * The stored formats and the adapters that feed them: hostile agent values never reach Redis as
 * anything but integers, and malformed stored values are skipped, not trusted.
 */
import t from 'tap'
import { decodeRaw, decodeRollup, encodeSample } from '../../server/history/encoding.js'
import { nodeRows } from '../../server/history/adapters.js'
import { queueRows } from '../../server/queues/history-rows.js'
import type { Snapshot } from '../../server/collector/snapshot.js'
import type { QueueRecord } from '../../server/queues/records.js'

t.test('samples are scaled integers; bad values are left empty', async (t) => {
  t.equal(encodeSample('node', [42.25, 12.5, 62.5, 150e6, 1.234]), '423,125,625,143,123')
  t.equal(encodeSample('node', [NaN, -1, Infinity, null, undefined]), ',,,,')
  t.equal(encodeSample('node', [1e300, 0, 0, 0, 0]), ',0,0,0,0', 'too large to sum exactly: dropped')
  t.equal(encodeSample('queue', [12, 3, 1.5]), '12,3,150')
  t.same(decodeRaw('node', '423,125,625,143,123'), [42.3, 12.5, 62.5, 143 * 1024 * 1024, 1.23])
  t.same(decodeRaw('queue', '12,,150'), [12, null, 1.5])
})

t.test('malformed stored values are refused', async (t) => {
  for (const value of ['', '1,2', '1,2,3,4,5,6', 'a,b,c,d,e', '1e5,1,1,1,1', '-1,1,1,1,1']) {
    const decoded = decodeRaw('node', value)
    t.ok(decoded === null || decoded.every((v) => v === null || v >= 0), `raw ${JSON.stringify(value)}`)
  }
  t.equal(decodeRaw('node', '1,2'), null)
  t.equal(decodeRollup('node', '1,2'), null)
  t.equal(decodeRollup('queue', '0,0,1:1,1:1,1:1'), null, 'zero samples')
  t.equal(decodeRollup('queue', 'x,y,1:1,1:1,1:1'), null)
})

t.test('rollups: average per metric over the samples that had it, and the max', async (t) => {
  const rollup = decodeRollup('queue', '5,6,60:15,:,9:3:2')!
  t.equal(rollup.samples, 6)
  t.same(rollup.avg, [10, null, 0.045], 'waiting 60/6; failed never sent; throughput 9/2 samples')
  t.same(rollup.max, [15, null, 0.03])
})

const snapshot = (parts: Record<string, unknown>) => ({ version: 1, generatedAt: 5_000, redis: { up: true, downSince: null }, parts: {}, nodes: [], ...parts }) as unknown as Snapshot

t.test('node rows read what the agent sent and nothing else', async (t) => {
  const rows = nodeRows(
    snapshot({
      nodes: [
        {
          service: 's',
          nodeId: 'a',
          lastSeenAt: 4_000,
          keyPresent: true,
          heartbeat: {
            timestamp: 4_000,
            cpu: { system: 50, process: 5, cores: 2 },
            memory: { system: { total: 200, free: 50, used: 100 }, process: { rss: 10, heapTotal: 1, heapUsed: 1 } },
            eventLoop: { lagMs: 3, p99Ms: 9 },
          },
        },
        // an agent sending only total and free: used is derived
        { service: 's', nodeId: 'b', lastSeenAt: 4_000, keyPresent: true, heartbeat: { timestamp: 4_000, memory: { system: { total: 100, free: 25 } } } },
        { service: 's', nodeId: 'c', lastSeenAt: 4_000, keyPresent: false, heartbeat: { timestamp: 4_000, memory: { system: { total: 0, free: 0, used: 0 } } } },
      ],
    }),
  )
  t.same(
    rows.map((row) => [row.id, row.t, row.values]),
    [
      ['a', 4_000, [50, 5, 50, 10, 3]],
      ['b', 4_000, [null, null, 75, null, null]],
      ['c', 4_000, [null, null, null, null, null]],
    ],
  )
})

t.test('queue rows: one per queue record, unmeasured counts left empty, each at its own read time', async (t) => {
  t.same(queueRows(snapshot({})), [], 'no queues part yet')
  t.same(queueRows(snapshot({ queues: { items: [] } })), [])
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
    timestamp: 4_000,
    ...counts,
  })
  const items = [
    record('emails', { waiting: 3, failed: 1, throughput: 2.5, timestamp: 4_500 }),
    // an entry the reader could not read: no count is a zero
    record('pdf', { error: 'WRONGTYPE', timestamp: 4_100 }),
    record('__proto__*', { waiting: 1, failed: 0 }),
    record('found', { source: 'discovered', waiting: 0, failed: 7, active: 2, delayed: 1, timestamp: 5_000 }),
    { ...record('other', { waiting: 9, failed: 2, throughput: 0 }), service: 'search' },
  ]
  const expected = [
    { kind: 'queue', service: 'billing', id: 'emails', t: 4_500, values: [3, 1, 2.5] },
    { kind: 'queue', service: 'billing', id: 'pdf', t: 4_100, values: [null, null, null] },
    { kind: 'queue', service: 'billing', id: '__proto__*', t: 4_000, values: [1, 0, null] },
    { kind: 'queue', service: 'billing', id: 'found', t: 5_000, values: [0, 7, null] },
    { kind: 'queue', service: 'search', id: 'other', t: 4_000, values: [9, 2, 0] },
  ]
  t.same(queueRows(snapshot({ queues: { items } })), expected)
  t.same(queueRows(snapshot({ queues: { items: [...items].reverse() } })), [...expected].reverse(), 'in the order of the part')
})
