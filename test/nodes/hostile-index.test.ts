/**
 * Node indexes written by a hostile agent: what the collector takes from Redis per tick stays
 * bounded, the damage stays in the hostile service, and the collector's memory stays under its cap.
 * Driven tick by tick with a fake time against a real Redis.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { createRedisNodeCollector } from '../../server/nodes/collector-part.js'
import { createBadDataLog } from '../../server/collector/bad-data-log.js'
import { healthOf } from '../../server/collector/health.js'
import type { NodeRecord } from '../../server/collector/snapshot.js'
import { shareOut } from '../../server/redis/key-finder.js'
import { bytesSent, keys, recordingBadData, writeBeat, type FleetNode } from './fleet.js'

const { redis } = await useRedis(t)

const START = Date.UTC(2026, 10, 23, 12)
const YEAR = 365 * 86_400_000

function fleet(service: string, count: number, style: FleetNode['style']): FleetNode[] {
  return Array.from({ length: count }, (_, i) => ({ service, nodeId: `${service}-${i}`, style }))
}

const ids = (records: readonly NodeRecord[]) => records.map((r) => `${r.service}/${r.nodeId}`)

t.test('200,000 future members in the legacy index and a string at a service index: bounded ticks, honest nodes fresh', async (t) => {
  await redis.flushall()
  const bad = recordingBadData()
  const part = createRedisNodeCollector(redis, keys, { graceMs: 300_000, badData: bad, maxNodes: 1_000 })
  const honest = [...fleet('billing', 8, 'indexed'), ...fleet('older', 4, 'legacy'), ...fleet('php', 3, 'scan'), ...fleet('mixed', 2, 'both')]
  const evil: FleetNode = { service: 'evil', nodeId: 'evil-1', style: 'indexed' }
  let now = START
  const beatAll = () => Promise.all([...honest, evil].map((node) => writeBeat(redis, node, now)))
  const hostileIndex = keys.serviceNodeIndex('evil')

  await beatAll()
  await redis.set(hostileIndex, 'not a sorted set any more')
  await part.collect(now, undefined as never)
  // after the first tick (which prunes): every later read must ignore them until the next prune
  for (let start = 0; start < 200_000; start += 10_000) {
    const args: (string | number)[] = []
    for (let i = start; i < start + 10_000; i++) args.push(now + YEAR + i, `ghost:g-${i}`)
    await redis.zadd(keys.nodeIndex(), ...args)
  }

  const expected = [...honest, evil].map((n) => `${n.service}/${n.nodeId}`).sort()
  let maxMembers = 0
  let maxKeys = 0
  let maxBytes = 0
  let legacyCardBeforePrune = 0
  for (let tick = 1; tick <= 35; tick++) {
    now += 2_000
    if (tick % 5 === 0) await beatAll()
    if (tick === 29) legacyCardBeforePrune = await redis.zcard(keys.nodeIndex())
    const before = await bytesSent(redis)
    const records = await part.collect(now, undefined as never)
    maxBytes = Math.max(maxBytes, (await bytesSent(redis)) - before)
    maxMembers = Math.max(maxMembers, part.lastTick().indexMembersRead)
    maxKeys = Math.max(maxKeys, part.lastTick().keysRead)
    t.same(ids(records).sort(), expected, `tick ${tick}: every honest node is listed, and the hostile one from its key`)
    t.same(
      records.map((r) => healthOf(r.seenAt, r.keyPresent, now)).filter((h) => h !== 'fresh'),
      [],
      `tick ${tick}: all fresh`,
    )
  }
  // 8 billing + 4 older + 2 mixed in each of its two indexes: 16 members at most, never a ghost
  t.ok(maxMembers <= 16, `index members read per tick: at most ${maxMembers}`)
  t.ok(maxKeys <= honest.length + 1, `heartbeat keys read per tick: at most ${maxKeys}`)
  // 200,000 members would be several megabytes; 18 beats of ~600 bytes are about 11 KB
  t.ok(maxBytes < 64 * 1024, `Redis sent at most ${maxBytes} bytes per tick`)
  t.equal(legacyCardBeforePrune, 200_006, 'the ghosts stayed until the prune (reads alone ignored them)')
  t.equal(await redis.zcard(keys.nodeIndex()), 6, 'pruned: only the honest members are left')
  t.match(bad.about(keys.nodeIndex()), [/^200000 index members scored more than 120 s ahead of the console's clock: removed$/])
  t.ok(bad.about(hostileIndex).every((reason) => reason === 'index key is not a sorted set: skipped') && bad.about(hostileIndex).length > 0, 'the string at the hostile index is skipped and reported')
  const sizes = part.sizes()
  t.ok(sizes.tracked <= honest.length + 1 && sizes.known <= honest.length + 1 && sizes.remembered <= 16, `maps hold the fleet only: ${JSON.stringify(sizes)}`)
})

t.test("a flood of one service's node keys and index members takes at most its share", async (t) => {
  await redis.flushall()
  const warnings: { key: string; reason: string }[] = []
  let now = START
  const badData = createBadDataLog({ warn: (entry: { key: string; reason: string }) => void warnings.push(entry) } as never, () => now)
  const part = createRedisNodeCollector(redis, keys, { graceMs: 300_000, badData, maxNodes: 60, maxNodesPerService: 20 })
  const honest = [...fleet('billing', 10, 'indexed'), ...fleet('older', 10, 'legacy'), ...fleet('php', 10, 'scan')]
  // the flood: 300 real node keys in its own index, and 2,000 members naming keys that do not exist
  const flood = fleet('flood', 300, 'indexed')
  const phantoms: (string | number)[] = []
  for (let i = 0; i < 2_000; i++) phantoms.push(now, `phantom-${i}`)
  await redis.zadd(keys.serviceNodeIndex('flood'), ...phantoms)
  await Promise.all(flood.map((node) => writeBeat(redis, node, now)))

  let listed: readonly NodeRecord[] = []
  for (let tick = 0; tick < 12; tick++) {
    if (tick % 5 === 0) await Promise.all(honest.map((node) => writeBeat(redis, node, now)))
    listed = await part.collect(now, undefined as never)
    const sizes = part.sizes()
    t.ok(Math.max(sizes.tracked, sizes.known, sizes.raw, sizes.indexed, sizes.remembered) <= 60, `tick ${tick}: maps under the cap ${JSON.stringify(sizes)}`)
    now += 2_000
  }
  const names = ids(listed)
  for (const node of honest) t.ok(names.includes(`${node.service}/${node.nodeId}`), `${node.service}/${node.nodeId} is listed`)
  t.ok(names.filter((n) => n.startsWith('flood/')).length <= 20, 'the flood keeps at most its share')
  const refusals = warnings.filter((w) => w.key === JSON.stringify(keys.nodePattern()))
  t.equal(refusals.length, 1, 'refusals are reported once')
  t.match(refusals[0]?.reason, /^\d+ new node keys ignored: the console tracks at most 60 nodes, 20 per service$/)
})

t.test('past the node cap, new keys are ignored with a count and the maps stay at the cap', async (t) => {
  await redis.flushall()
  const bad = recordingBadData()
  const part = createRedisNodeCollector(redis, keys, { graceMs: 300_000, badData: bad, maxNodes: 30 })
  const nodes = ['a', 'b', 'c', 'd', 'e'].flatMap((service, i) => fleet(service, 10, (['indexed', 'legacy', 'scan', 'both', 'indexed'] as const)[i]!))
  let now = START
  await Promise.all(nodes.map((node) => writeBeat(redis, node, now)))
  for (let tick = 0; tick < 6; tick++) {
    const listed = await part.collect(now, undefined as never)
    t.equal(listed.length, 30, `tick ${tick}: 30 nodes listed`)
    const sizes = part.sizes()
    t.ok(Math.max(sizes.tracked, sizes.known, sizes.raw, sizes.indexed, sizes.remembered) <= 30, `tick ${tick}: ${JSON.stringify(sizes)}`)
    now += 2_000
  }
  t.match(bad.about(keys.nodePattern())[0], /^\d+ new node keys ignored: the console tracks at most 30 nodes/)
})

t.test('the member budget is shared out smallest first, never past a request or the budget', async (t) => {
  t.same(shareOut([5, 10, 3], 100), [5, 10, 3], 'enough for all: each gets what it asks')
  t.same(shareOut([10_000, 10, 3], 100), [87, 10, 3], 'the small ones whole, the big one the rest')
  t.same(shareOut([50, 50, 50], 90), [30, 30, 30], 'equal shares when all ask more')
  t.same(shareOut([0, 7], 5), [0, 5])
  t.same(shareOut([], 10), [])
  t.same(shareOut([4, 4], 0), [0, 0])
  for (let seed = 0; seed < 50; seed++) {
    const requests = Array.from({ length: 1 + (seed % 7) }, (_, i) => ((seed * 7919 + i * 104_729) % 500) + (i === seed % 3 ? 100_000 : 0))
    const budget = (seed * 131) % 2_000
    const given = shareOut(requests, budget)
    t.ok(
      given.every((g, i) => g >= 0 && g <= requests[i]!),
      `seed ${seed}: none past its request`,
    )
    t.ok(given.reduce((a, b) => a + b, 0) <= budget, `seed ${seed}: within the budget`)
  }
})

t.test('one SCAN pattern finds node keys and node indexes, and nothing else the protocol writes', async (t) => {
  await redis.flushall()
  const wanted = [keys.node('a', 'n1'), keys.serviceNodeIndex('a'), keys.nodeIndex()]
  const others = [
    keys.queues('a'),
    keys.slow('a'),
    keys.commandResult('a', 'c1'),
    keys.legacyCommandResult('c1'),
    keys.commandSeen('a', 'n1', 'c1'),
    keys.nodeHistory('a', 'n1', '1m', 0),
    keys.alertsFiring(),
    keys.auditPending(),
    'node:a:n1',
    'other:index:nodes',
  ]
  for (const key of [...wanted, ...others]) await redis.set(key, 'x')
  await redis.xadd(keys.commandStream('a', 'n1'), '*', 'k', 'v')
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.nodeDiscoveryPattern(), 'COUNT', 100)
    found.push(...batch)
    cursor = next
  } while (cursor !== '0')
  t.same(found.sort(), wanted.sort())
})
