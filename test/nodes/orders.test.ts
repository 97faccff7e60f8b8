/**
 * Many nodes, written in many orders and every way agents write them (their service's index, the
 * legacy shared index, both, or the key alone), among unrelated keys, with a SCAN that needs several
 * ticks per pass: each is found, fresh while it beats, dead once its key is gone, and gone after
 * the grace period; nodes never appear twice and the order is by service, then node.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { createRedisNodeCollector } from '../../server/nodes/collector-part.js'
import { healthOf } from '../../server/collector/health.js'
import { byServiceThenNode, type NodeRecord } from '../../server/collector/snapshot.js'
import { STYLES, keys, recordingBadData, writeBeat, type FleetNode } from './fleet.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'

const { redis } = await useRedis(t)

const GRACE = 20_000
const SERVICES = ['api', 'billing', 'older', 'php', 'search', 'web']

for (const seed of [1, 2, 3, 4, 5, 6]) {
  // odd seeds: a small fleet read whole each tick; even seeds: reads driven by the index
  const readAllBelow = seed % 2 === 0 ? 0 : undefined
  t.test(`seed ${seed} (${readAllBelow === 0 ? 'index-driven reads' : 'whole reads'})`, async (t) => {
    await redis.flushall()
    const next = seededRandom(seed)
    const fleet: FleetNode[] = Array.from({ length: 40 + Math.floor(next() * 40) }, (_, i) => ({
      service: SERVICES[Math.floor(next() * SERVICES.length)]!,
      nodeId: `n-${seed}-${i}`,
      style: STYLES[Math.floor(next() * STYLES.length)]!,
    }))
    // the keyspace of a shared Redis: other applications' keys around ours
    const pipeline = redis.pipeline()
    for (let i = 0; i < 300; i++) pipeline.set(`app:${seed}:${i}`, 'x')
    await pipeline.exec()
    const part = createRedisNodeCollector(redis, keys, {
      graceMs: GRACE,
      badData: recordingBadData(),
      ...(readAllBelow === undefined ? {} : { readAllBelow }),
      finder: { scanCount: 40, scanStepsPerTick: 2 },
    })
    let now = Date.UTC(2026, 10, 23, 12)
    const alive = new Set(fleet)
    // each node beats every 10 s at its own phase; a third join late
    const phase = new Map(fleet.map((node) => [node, Math.floor(next() * 5)]))
    const joinsAt = new Map(fleet.map((node) => [node, next() < 0.33 ? 5 + Math.floor(next() * 10) : 0]))
    const id = (node: FleetNode | NodeRecord) => `${node.service}/${node.nodeId}`

    let beating = 0
    async function runTick(tick: number): Promise<readonly NodeRecord[]> {
      beating = 0
      for (const node of shuffled([...alive], next)) {
        if (tick < joinsAt.get(node)! || (tick - phase.get(node)!) % 5 !== 0) continue
        await writeBeat(redis, node, now, now, { runtime: { uptime: tick } })
        beating++
      }
      const records = await part.collect(now, undefined as never)
      t.equal(new Set(records.map(id)).size, records.length, `tick ${tick}: no node twice`)
      t.same(records.map(id), [...records].sort(byServiceThenNode).map(id), `tick ${tick}: by service, then node`)
      now += 2_000
      return records
    }

    // found within two SCAN passes of joining, whatever the way it is written
    for (let tick = 0; tick < 30; tick++) await runTick(tick)
    const scanOnly = fleet.filter((node) => node.style === 'scan').length
    let partialReads = 0
    for (let tick = 30; tick < 40; tick++) {
      const records = await runTick(tick)
      t.same(records.map(id).sort(), fleet.map(id).sort(), `tick ${tick}: every node listed`)
      t.same(records.filter((r) => healthOf(r.seenAt, r.keyPresent, now - 2_000) !== 'fresh').map(id), [], `tick ${tick}: every node fresh`)
      const { keysRead } = part.lastTick()
      if (keysRead === fleet.length) continue
      partialReads++
      t.ok(keysRead <= scanOnly + beating, `tick ${tick}: read ${keysRead} keys: the ${scanOnly} unindexed and those of the ${beating} that beat`)
    }
    // every service with an indexed node has its index followed, found by SCAN
    t.equal(part.sizes().indexes, new Set(fleet.filter((n) => n.style === 'indexed' || n.style === 'both').map((n) => n.service)).size)
    if (readAllBelow === 0) t.ok(partialReads >= 7, `indexed nodes are read when their index entry moves (${partialReads} of 10 ticks partial)`)
    else t.equal(partialReads, 0, 'a small fleet is read whole every tick')

    // half stop, their keys deleted in a random order: dead, listed for the grace, then gone
    const stopping = shuffled(fleet, next).slice(0, Math.floor(fleet.length / 2))
    for (const node of stopping) {
      alive.delete(node)
      await redis.del(keys.node(node.service, node.nodeId))
    }
    const stoppedAt = now
    let records: readonly NodeRecord[] = []
    for (let tick = 40; now < stoppedAt + 18_000; tick++) records = await runTick(tick)
    const byId = new Map(records.map((r) => [id(r), r]))
    t.same(stopping.filter((n) => byId.get(id(n))?.keyPresent !== false).map(id), [], 'the stopped nodes are listed, dead, with their last values')
    t.same([...alive].filter((n) => healthOf(byId.get(id(n))!.seenAt, byId.get(id(n))!.keyPresent, now - 2_000) !== 'fresh').map(id), [], 'the others stay fresh')
    for (let tick = 60; now < stoppedAt + GRACE + 10_000; tick++) records = await runTick(tick)
    t.same(records.map(id).sort(), [...alive].map(id).sort(), 'the stopped nodes have left; the others stay')
    const sizes = part.sizes()
    t.ok(sizes.tracked === alive.size && sizes.known === alive.size && sizes.raw === alive.size, `the maps let go of them: ${JSON.stringify(sizes)}`)
  })
}
