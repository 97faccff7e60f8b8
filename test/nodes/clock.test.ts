/**
 * Time is the console's: nodes whose heartbeats carry implausible timestamps (seconds, far ahead,
 * 1e308, far behind, zero) live, go stale, die and leave exactly like a node with a true clock,
 * by the console's fake clock, and are flagged on their card, their page, the API and the log.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { keys, writeBeat, type FleetNode } from '../nodes/fleet.js'
import { CLOCK_SKEW_LIMIT_MS, clockNoteOf } from '../../server/collector/health.js'

const { server: redisServer, redis } = await useRedis(t)

const DAY = 86_400_000
const GRACE = 60_000

const clocks: { name: string; stamp: (now: number) => number; note: string | null; text: RegExp | null }[] = [
  { name: 'true', stamp: (now) => now, note: null, text: null },
  { name: 'seconds', stamp: (now) => Math.floor(now / 1000), note: 'seconds', text: /Clock: the timestamp looks like seconds, not milliseconds/ },
  { name: 'ahead', stamp: (now) => now + 3 * 3_600_000, note: 'ahead', text: /Clock: the timestamp is 3 h ahead of the console&#39;s/ },
  { name: 'huge', stamp: () => 1e308, note: 'ahead', text: /Clock: the timestamp is over a year ahead of the console&#39;s/ },
  { name: 'behind', stamp: (now) => now - 30 * DAY, note: 'behind', text: /Clock: the timestamp is 30 d behind the console&#39;s/ },
  { name: 'zero', stamp: () => 0, note: 'behind', text: /Clock: the timestamp is over a year behind the console&#39;s/ },
]
const styles = ['indexed', 'legacy', 'scan'] as const
const nodes = clocks.flatMap((clock) => styles.map((style): FleetNode & { clock: (typeof clocks)[number] } => ({ service: style, nodeId: clock.name, style, clock })))

interface ApiNode {
  id: string
  service: string
  health: string
  lastSeenAt: number
  timestamp: number
  clockNote?: string
}

t.test('implausible timestamps: alive while beating, gone key-gone + grace later, flagged everywhere', async (t) => {
  const clock = fakeClock()
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, graceMs: GRACE, logLines })
  t.teardown(() => app.close())
  const api = async () => {
    await app.collector.refresh()
    const body = (await app.inject('/api/pulse/nodes')).json() as { services: { nodes: ApiNode[] }[] }
    return new Map(body.services.flatMap((s) => s.nodes).map((n) => [`${n.service}/${n.id}`, n]))
  }

  // a minute of beats every 10 s, read every 2 s: fresh on every tick, whatever the timestamp
  let lastBeat = clock()
  for (let tick = 0; tick < 30; tick++) {
    if (tick % 5 === 0) {
      lastBeat = clock()
      // as any agent's, each beat differs from the last (its uptime moves) even when its clock is stuck
      await Promise.all(nodes.map((node) => writeBeat(redis, node, clock(), node.clock.stamp(clock()), { runtime: { uptime: tick * 2 } })))
    }
    const listed = await api()
    t.equal(listed.size, nodes.length, `tick ${tick}: every node listed`)
    t.same(
      [...listed.values()].filter((n) => n.health !== 'fresh').map((n) => `${n.service}/${n.id}`),
      [],
      `tick ${tick}: every node fresh`,
    )
    clock.advance(2_000)
  }
  const listed = await api()
  for (const node of nodes) {
    const shown = listed.get(`${node.service}/${node.nodeId}`)!
    t.equal(shown.clockNote, node.clock.note ?? undefined, `${node.service}/${node.nodeId}: clock note`)
    t.equal(shown.lastSeenAt, lastBeat, `${node.service}/${node.nodeId}: last seen by the console's clock`)
    // a timestamp in seconds is read as seconds; any other is given as the agent wrote it
    const stamped = node.clock.stamp(lastBeat)
    t.equal(shown.timestamp, node.clock.note === 'seconds' ? stamped * 1000 : stamped, "the agent's own timestamp is still given, in ms")
  }

  const page = (await app.inject('/pulse')).body
  for (const node of nodes) {
    const at = page.indexOf(`id="node:${node.service}:${node.nodeId}"`)
    const card = page.slice(at, page.indexOf('</article>', at))
    if (node.clock.text) t.match(card, node.clock.text, `${node.service}/${node.nodeId}: the card says what is wrong`)
    else t.notMatch(card, 'clock-note', `${node.service}/${node.nodeId}: no note on a true clock`)
    t.match(card, '>10 s ago</time>', "its age by the console's clock")
  }
  const detail = (await app.inject('/pulse/scan/huge')).body
  t.match(detail, /<p class="clock-note" role="note">Clock: the timestamp is over a year ahead/, 'the node page has the note too')
  const warned = logLines.map((line) => JSON.parse(line)).filter((line) => /timestamp/.test(line.reason ?? ''))
  for (const node of nodes.filter((n) => n.clock.note)) {
    t.ok(
      warned.some((line) => line.key === JSON.stringify(keys.node(node.service, node.nodeId))),
      `${node.service}/${node.nodeId}: reported to the bad-data log`,
    )
  }

  // the beats stop: stale after 15 s and dead after 30 s without a new one, like any node
  const stoppedAt = lastBeat
  clock.set(stoppedAt + 16_000)
  t.same(new Set([...(await api()).values()].map((n) => n.health)), new Set(['stale']), 'all stale 16 s after the last beat')
  clock.set(stoppedAt + 31_000)
  t.same(new Set([...(await api()).values()].map((n) => n.health)), new Set(['dead']), 'all dead 31 s after it, key or no key')

  // the keys expire (by the console's clock): listed, dead, for the grace period from then
  await redis.del(...nodes.map((node) => keys.node(node.service, node.nodeId)))
  clock.set(stoppedAt + 32_000)
  const goneAt = clock()
  t.equal((await api()).size, nodes.length, 'listed once the key is seen gone')
  clock.set(goneAt + GRACE - 2_000)
  t.equal((await api()).size, nodes.length, 'still listed 2 s before the grace ends')
  clock.set(goneAt + GRACE)
  t.equal((await api()).size, 0, 'every node has left when the grace ends, whatever its timestamp')
})

t.test('clockNoteOf: where a timestamp stops being believable', async (t) => {
  const now = Date.UTC(2026, 10, 23, 12)
  const cases: [number, string | null, string][] = [
    [now, null, 'now'],
    [now + CLOCK_SKEW_LIMIT_MS, null, 'exactly the limit ahead'],
    [now + CLOCK_SKEW_LIMIT_MS + 1, 'ahead', 'just past it'],
    [now - CLOCK_SKEW_LIMIT_MS, null, 'exactly the limit behind'],
    [now - CLOCK_SKEW_LIMIT_MS - 1, 'behind', 'just past it'],
    [Math.floor(now / 1000), 'seconds', 'seconds of the same moment'],
    [Math.floor(now / 1000) - 3_600, 'seconds', 'seconds, an hour off'],
    [1e308, 'ahead', '1e308'],
    [0, 'behind', 'zero'],
  ]
  for (const [timestamp, note, what] of cases) t.equal(clockNoteOf(timestamp, now), note, what)
})
