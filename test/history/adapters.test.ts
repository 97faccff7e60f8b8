import t from 'tap'
import { nodeRows } from '../../server/history/adapters.js'
import type { NodeRecord, Snapshot } from '../../server/collector/snapshot.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const NOW = Date.UTC(2026, 11, 1, 12)

function record(nodeId: string, stamp: number, clockNote?: NodeRecord['clockNote']): NodeRecord {
  return { service: 'api', nodeId, heartbeat: sampleHeartbeat({ timestamp: stamp }), lastSeenAt: stamp, seenAt: NOW - 1_000, goneAt: null, keyPresent: true, ...(clockNote ? { clockNote } : {}) }
}

t.test('a node is charted by its beat time, or by when it was read when that time is implausible', async (t) => {
  const nodes = [record('honest', NOW - 3_000), record('seconds', Math.floor(NOW / 1000), 'seconds'), record('ahead', NOW + 3 * 3_600_000, 'ahead')]
  const rows = nodeRows({ version: 1, generatedAt: NOW, readMs: 0, redis: { up: true, downSince: null }, parts: {}, nodes } as Snapshot)
  t.same(
    rows.map((row) => [row.id, row.t]),
    [
      ['honest', NOW - 3_000],
      ['seconds', NOW - 1_000],
      ['ahead', NOW - 1_000],
    ],
  )
})
