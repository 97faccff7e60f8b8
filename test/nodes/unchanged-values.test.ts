/**
 * A value read again is not a new beat: the node keeps its record (and its seenAt), whether the
 * key was left alone or rewritten with the same bytes; any other value, even one of the same
 * length, is a new beat. The collector keeps a digest of each value, not the value, to tell them
 * apart.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { createRedisNodeCollector } from '../../server/nodes/collector-part.js'
import type { NodeRecord } from '../../server/collector/snapshot.js'
import { STYLES, recordingBadData, writeBeat, type FleetNode } from './fleet.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'

const { redis } = await useRedis(t)

type Change = 'untouched' | 'same bytes' | 'same length' | 'longer'
const CHANGES: readonly Change[] = ['untouched', 'same bytes', 'same length', 'longer']

for (const seed of [1, 2, 3, 4]) {
  // odd seeds: every key read each tick; even seeds: reads driven by the index
  const readAllBelow = seed % 2 === 0 ? 0 : undefined
  t.test(`seed ${seed}`, async (t) => {
    await redis.flushall()
    const next = seededRandom(seed)
    const fleet: (FleetNode & { change: Change })[] = Array.from({ length: 60 + Math.floor(next() * 60) }, (_, i) => ({
      service: `svc-${Math.floor(next() * 5)}`,
      nodeId: `n-${seed}-${i}`,
      style: STYLES[Math.floor(next() * STYLES.length)]!,
      change: CHANGES[Math.floor(next() * CHANGES.length)]!,
    }))
    const part = createRedisNodeCollector(redis, (await import('./fleet.js')).keys, {
      graceMs: 60_000,
      badData: recordingBadData(),
      ...(readAllBelow === undefined ? {} : { readAllBelow }),
    })
    const start = Date.UTC(2026, 10, 23, 12)
    for (const node of shuffled(fleet, next)) await writeBeat(redis, node, start, start, { runtime: { uptime: 1000 } })
    const first = new Map((await part.collect(start, undefined as never)).map((record) => [record.nodeId, record]))
    t.equal(first.size, fleet.length, 'every node read')

    // five ticks later: a full read happens whatever the index says
    let now = start
    let records: readonly NodeRecord[] = []
    for (let tick = 1; tick <= 5; tick++) {
      now += 2_000
      if (tick === 1) {
        for (const node of shuffled(fleet, next)) {
          // the index entries keep their score: index-driven reads see these on the full read
          if (node.change === 'same bytes') await writeBeat(redis, node, start, start, { runtime: { uptime: 1000 } })
          if (node.change === 'same length') await writeBeat(redis, node, start, start, { runtime: { uptime: 2000 } })
          if (node.change === 'longer') await writeBeat(redis, node, start, start, { runtime: { uptime: 10_000 } })
        }
      }
      records = await part.collect(now, undefined as never)
    }
    const later = new Map(records.map((record) => [record.nodeId, record]))
    for (const node of fleet) {
      const before = first.get(node.nodeId)!
      const after = later.get(node.nodeId)!
      const kept = node.change === 'untouched' || node.change === 'same bytes'
      t.equal(after === before, kept, `${node.nodeId} (${node.change}, ${node.style}): ${kept ? 'the same record' : 'a new record'}`)
      t.ok(kept ? after.seenAt === start : after.seenAt > start, `${node.nodeId}: seenAt ${kept ? 'stays' : 'moves'}`)
      const uptime = (after.heartbeat.runtime as { uptime?: number } | undefined)?.uptime
      t.equal(uptime, { untouched: 1000, 'same bytes': 1000, 'same length': 2000, longer: 10_000 }[node.change], `${node.nodeId}: the value shown`)
    }
    t.equal(part.sizes().raw, fleet.length, 'one digest per node')
  })
}
