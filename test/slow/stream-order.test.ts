/**
 * Many services and many entries, read in many orders: backlogs before the first read, bursts
 * larger than one batch, entries added between ticks, services known from beats or only from the
 * SCAN, more streams than one tick reads. After every tick each service holds a gap-free run of
 * its stream with no entry twice, everything is newest first, and a tick never takes more than its
 * budget; once the writers stop, every entry is there.
 */
import t, { type Test } from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { compareIds, ENTRIES_PER_SERVICE, type SlowEntryRecord } from '../../server/slow/collector-part.js'
import { addEntry, slowCollector } from './helpers.js'
import { seededRandom } from '../helpers/shuffle.js'

const { server: redisServer, redis: admin } = await useRedis(t)

/** a whole number below `below`, drawn from a seeded generator so a failing seed can be replayed */
function draws(seed: number): (below: number) => number {
  const random = seededRandom(seed)
  return (below) => Math.floor(random() * below)
}

const SERVICES = Array.from({ length: 10 }, (_, i) => `svc-${i}`)
/** the even ones beat (known from the nodes part), the odd ones only log (found by SCAN) */
const BEATING = SERVICES.filter((_, i) => i % 2 === 0)
// six streams a tick of ten, four entries each: the budget is what a tick may take
const limits = { streamEntries: 4, tickEntries: 24, minStreamBytes: 1024, streamBytes: 2048, tickBytes: 6 * 1024 }

function checkTick(t: Test, entries: readonly SlowEntryRecord[], added: ReadonlyMap<string, string[]>, label: string): void {
  const seen = new Set<string>()
  for (const entry of entries) seen.add(`${entry.service} ${entry.id}`)
  t.equal(seen.size, entries.length, `${label}: no entry twice`)
  const byTime = [...entries].sort((a, b) => b.timestamp - a.timestamp)
  t.same(
    entries.map((e) => e.id),
    byTime.map((e) => e.id),
    `${label}: newest first`,
  )
  for (const service of SERVICES) {
    const held = entries
      .filter((e) => e.service === service)
      .map((e) => e.id)
      .sort(compareIds)
    if (held.length === 0) continue
    const all = added.get(service) ?? []
    const from = all.indexOf(held[0]!)
    t.same(held, all.slice(from, from + held.length), `${label}: ${service} holds a run of its stream without gaps`)
  }
}

for (const seed of [1, 2, 3, 4, 5]) {
  t.test(`seed ${seed}`, async (t) => {
    await admin.flushall()
    const next = draws(seed)
    const slow = slowCollector(redisServer.url, { limits })
    t.teardown(() => slow.close())
    const added = new Map<string, string[]>()
    let timestamp = 1_000_000
    const add = async (service: string, count: number) => {
      for (let i = 0; i < count; i++) {
        const id = await addEntry(admin, service, { kind: next(2) ? 'job' : 'request', name: `task ${next(5)}`, durationMs: 100 + next(5000), timestamp: ++timestamp, nodeId: 'n1' })
        added.set(service, [...(added.get(service) ?? []), id])
      }
    }
    // backlogs before the first read, up to several batches deep
    for (const service of SERVICES) if (next(3) > 0) await add(service, next(30))

    let previous: readonly SlowEntryRecord[] = []
    for (let round = 0; round < 40; round++) {
      const writers = next(4)
      for (let w = 0; w < writers; w++) await add(SERVICES[next(SERVICES.length)]!, next(5) === 0 ? 25 : next(8))
      const { entries } = await slow.tick(BEATING)
      checkTick(t, entries, added, `seed ${seed} round ${round}`)
      t.ok(entries.length - previous.length <= limits.tickEntries, `round ${round}: at most ${limits.tickEntries} entries taken in a tick`)
      const changed = SERVICES.filter((s) => entries.filter((e) => e.service === s).length !== previous.filter((e) => e.service === s).length)
      t.ok(changed.length <= 6, `round ${round}: at most six streams read in a tick (${changed.length})`)
      previous = entries
    }

    // writers stop: the collector catches up within a bounded number of ticks
    const total = [...added.values()].reduce((sum, ids) => sum + ids.length, 0)
    let entries = previous
    for (let tick = 0; tick < 200 && entries.length < total; tick++) entries = (await slow.tick(BEATING)).entries
    checkTick(t, entries, added, `seed ${seed} caught up`)
    for (const service of SERVICES) {
      t.same(
        entries
          .filter((e) => e.service === service)
          .map((e) => e.id)
          .sort(compareIds),
        added.get(service) ?? [],
        `${service}: every entry, once`,
      )
    }
  })
}

t.test('a stream longer than the service keeps: the newest ENTRIES_PER_SERVICE, read backwards', async (t) => {
  await admin.flushall()
  const slow = slowCollector(redisServer.url)
  t.teardown(() => slow.close())
  const ids: string[] = []
  const pipeline = admin.pipeline()
  for (let i = 0; i < ENTRIES_PER_SERVICE + 150; i++) pipeline.xadd('gravito:quasar:slow:long', `${1_000 + i}-0`, 'kind', 'job', 'name', 'x', 'durationMs', '1', 'timestamp', String(2_000 + i), 'nodeId', 'n1')
  for (const [error, id] of (await pipeline.exec()) ?? []) if (!error) ids.push(id as string)
  let entries: readonly SlowEntryRecord[] = []
  let ticks = 0
  // 20 entries a tick: 50 ticks for 1,000; the 51st finds nothing more to take
  for (let last = -1; entries.length !== last && ticks < 100; ticks++) {
    last = entries.length
    entries = (await slow.tick()).entries
    t.ok(entries.length <= ENTRIES_PER_SERVICE)
  }
  t.equal(ticks, ENTRIES_PER_SERVICE / 20 + 1)
  t.same(
    entries.map((e) => e.id),
    ids.slice(-ENTRIES_PER_SERVICE).reverse(),
    'the newest 1,000, newest first',
  )
  await addEntry(admin, 'long', { kind: 'job', name: 'fresh', durationMs: 1, timestamp: 9_999, nodeId: 'n1' })
  entries = (await slow.tick()).entries
  t.equal(entries.length, ENTRIES_PER_SERVICE, 'a new entry pushes the oldest out')
  t.equal(entries[0]?.name, 'fresh')
  t.equal(entries.at(-1)?.id, ids.at(-ENTRIES_PER_SERVICE + 1))
})

t.test('entries kept in memory are shared out between services, newest kept', async (t) => {
  await admin.flushall()
  const slow = slowCollector(redisServer.url, { limits: { keptEntries: 100 } })
  t.teardown(() => slow.close())
  const added = new Map<string, string[]>()
  let timestamp = 0
  const add = async (service: string, count: number) => {
    for (let i = 0; i < count; i++) added.set(service, [...(added.get(service) ?? []), await addEntry(admin, service, { kind: 'job', name: 'x', durationMs: 1, timestamp: ++timestamp, nodeId: 'n1' })])
  }
  for (const service of ['a', 'b', 'c', 'd']) await add(service, 60)
  const services = ['a', 'b', 'c', 'd']
  let entries: readonly SlowEntryRecord[] = []
  for (let tick = 0; tick < 5; tick++) entries = (await slow.tick(services)).entries
  for (const service of services) {
    t.same(
      entries
        .filter((e) => e.service === service)
        .map((e) => e.id)
        .sort(compareIds),
      added.get(service)!.slice(-25),
      `${service}: its newest 25 of 100`,
    )
  }
  await add('e', 10)
  entries = (await slow.tick([...services, 'e'])).entries
  t.equal(entries.length, 4 * 20 + 10, 'a fifth service: every other one is held to 20 at once')
  for (const service of services)
    t.same(
      entries
        .filter((e) => e.service === service)
        .map((e) => e.id)
        .sort(compareIds),
      added.get(service)!.slice(-20),
    )
})
