/**
 * A fleet of agents, each beat with a different defect, written into a real Redis in shuffled
 * orders and by every writing style: every node is listed with everything but its faulty unit,
 * its card and page say what was skipped or clamped and why (escaped, bounded), every skip reaches
 * the bad-data log as `field: reason`, a beat in seconds is alive and never lost, and the original
 * Quasar agent's beat is read with its queue counts and marked as legacy.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { keys, recordingBadData, STYLES, writeBeat, type FleetNode } from './fleet.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { createRedisNodeCollector } from '../../server/nodes/collector-part.js'
import { metricsFromSnapshot } from '../../server/alerts/metrics.js'

const { server: redisServer, redis } = await useRedis(t)

type Beat = Record<string, any>

interface Defect {
  nodeId: string
  /** changes a full beat the way this agent writes it */
  plant(beat: Beat): void
  /** what the console must show of the changed fields (the rest as the sample) */
  expect(beat: Beat): void
  /** field, and a pattern of the reason, as the bad-data log and the card give them */
  skips: [string, RegExp][]
}

const HOSTILE = '<img src=x onerror=alert(1)>'

const defects: Defect[] = [
  { nodeId: 'cpu-over', plant: (b) => (b.cpu.system = 150), expect: (b) => (b.cpu.system = 100), skips: [['cpu.system', /150 is over 100: clamped to 100/]] },
  { nodeId: 'psutil', plant: (b) => (b.cpu.process = 180), expect: (b) => (b.cpu.process = 100), skips: [['cpu.process', /180 is over 100: clamped to 100/]] },
  { nodeId: 'mem-string', plant: (b) => (b.memory.system.total = '8GB'), expect: (b) => delete b.memory.system.total, skips: [['memory.system.total', /a string, not a number/]] },
  { nodeId: 'cpu-string', plant: (b) => (b.cpu.system = 'high'), expect: (b) => delete b.cpu.system, skips: [['cpu.system', /a string, not a number/]] },
  { nodeId: 'hostile-language', plant: (b) => (b.language = HOSTILE), expect: (b) => delete b.language, skips: [['language', /unknown value/]] },
  { nodeId: 'long-host', plant: (b) => (b.hostname = 'h'.repeat(400)), expect: (b) => (b.hostname = `${'h'.repeat(255)}…`), skips: [['hostname', /400 characters, over 256: cut/]] },
  {
    nodeId: 'one-bad-queue',
    plant: (b) =>
      (b.queues = [
        { name: 'emails', driver: 'bullmq', metrics: { waiting: 3 } },
        { name: 'jobs', driver: 'rq', metrics: { waiting: 1 } },
        { name: 'mail', driver: 'laravel', metrics: { waiting: 2 } },
      ]),
    expect: (b) =>
      (b.queues = [
        { name: 'emails', driver: 'bullmq', metrics: { waiting: 3 } },
        { name: 'mail', driver: 'laravel', metrics: { waiting: 2 } },
      ]),
    skips: [['queues[1].driver', /unknown value "rq": entry dropped/]],
  },
  { nodeId: 'clean', plant: () => {}, expect: () => {}, skips: [] },
]

function beatOf(defect: Defect, service: string, timestamp: number): Beat {
  const beat = JSON.parse(JSON.stringify(sampleHeartbeat({ timestamp, id: defect.nodeId, service }))) as Beat
  defect.plant(beat)
  return beat
}

function expectedOf(defect: Defect, service: string, timestamp: number): Beat {
  const beat = beatOf(defect, service, timestamp)
  defect.expect(beat)
  return beat
}

/** Writes a whole beat (not merged with a sample, which would restore a deleted field). */
async function writeWhole(node: FleetNode, beat: Beat, at: number) {
  await redis.del(keys.node(node.service, node.nodeId))
  await writeBeat(redis, node, at, beat.timestamp, beat)
}

function cardOf(page: string, service: string, nodeId: string): string {
  const at = page.indexOf(`id="node:${service}:${nodeId}"`)
  if (at < 0) throw new Error(`no card for ${service}/${nodeId}`)
  return page.slice(at, page.indexOf('</article>', at))
}

t.test('a fleet of defective beats, in shuffled orders and every style', async (t) => {
  for (let seed = 1; seed <= 3; seed++) {
    await redis.flushall()
    const clock = fakeClock()
    const app = await buildTestApp({ redisUrl: redisServer.url, clock })
    const badData = recordingBadData()
    const collector = createRedisNodeCollector(redis, keys, { graceMs: 60_000, badData })
    const next = seededRandom(seed)
    const nodes = shuffled(
      STYLES.flatMap((style) => defects.map((defect) => ({ node: { service: `svc-${style}`, nodeId: defect.nodeId, style } as FleetNode, defect }))),
      next,
    )
    for (const { node, defect } of nodes) await writeWhole(node, beatOf(defect, node.service, clock()), clock())
    await app.collector.refresh()
    await collector.collect(clock(), app.collector.snapshot)

    const api = (await app.inject('/api/pulse/nodes')).json() as { services: { nodes: Beat[] }[] }
    const listed = new Map(api.services.flatMap((s) => s.nodes).map((n) => [`${n.service}/${n.id}`, n]))
    t.equal(listed.size, nodes.length, `seed ${seed}: every node listed, none dropped for a bad field`)
    const page = (await app.inject('/pulse')).body
    t.notMatch(page, HOSTILE, 'agent text in a reason is escaped')
    for (const { node, defect } of nodes) {
      const shown = listed.get(`${node.service}/${node.nodeId}`)!
      const { health, lastSeenAt, skipped, skippedTotal, ...fields } = shown
      t.same(fields, expectedOf(defect, node.service, clock()), `${node.service}/${node.nodeId}: every other field as written`)
      t.equal(health, 'fresh')
      t.same(
        (skipped ?? []).map((s: Beat) => s.field),
        defect.skips.map(([field]) => field),
        `${node.nodeId}: its skips in the API`,
      )
      const reports = badData.about(keys.node(node.service, node.nodeId))
      for (const [field, reason] of defect.skips) {
        t.ok(
          reports.some((line) => line.startsWith(`${field}: `) && reason.test(line)),
          `${node.nodeId}: "${field}: …" reported`,
        )
      }
      if (defect.skips.length === 0) t.same(reports, [], `${node.nodeId}: nothing reported`)
      const card = cardOf(page, node.service, node.nodeId)
      if (defect.skips.length === 0) t.notMatch(card, 'skip-note', `${node.nodeId}: no note on a clean beat`)
      for (const [field] of defect.skips) t.match(card, `<code>${field}</code>: `, `${node.nodeId}: the card names ${field}`)
    }
    const hostile = cardOf(page, 'svc-scan', 'hostile-language')
    t.match(hostile, '<code>language</code>: unknown value &quot;&lt;img src=x onerror=alert(1)&gt;&quot;', 'the reason is shown escaped')
    // a dropped cpu.system must not become an undefined CPU sample for the alert rules
    for (const sample of metricsFromSnapshot(app.collector.snapshot).samples) t.ok(Number.isFinite(sample.value), `${sample.target.id} ${sample.metric} is a number`)
    const cpuOf = (id: string) => metricsFromSnapshot(app.collector.snapshot).samples.find((s) => s.target.id === id && s.metric === 'cpu')
    t.equal(cpuOf('svc-indexed/cpu-over')?.value, 100, 'a clamped CPU alerts as 100 %')
    t.equal(cpuOf('svc-indexed/cpu-string'), undefined, 'a dropped CPU gives no sample')
    const detail = (await app.inject('/pulse/svc-both/psutil')).body
    t.match(detail, '<code>cpu.process</code>: 180 is over 100: clamped to 100', 'the node page says it too')
    await app.close()
  }
})

t.test('many bad fields: the card lists a few and counts the rest; the log gets each, bounded', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const badData = recordingBadData()
  const collector = createRedisNodeCollector(redis, keys, { graceMs: 60_000, badData })
  const node: FleetNode = { service: 'noisy', nodeId: 'n1', style: 'scan' }
  const queues = Array.from({ length: 35 }, (_, i) => ({ name: `q${i}`, driver: `driver-${i}`, metrics: { waiting: i } }))
  await writeBeat(redis, node, clock(), clock(), { queues: [...queues, { name: 'kept', driver: 'bullmq', metrics: { waiting: 9 } }] })
  await app.collector.refresh()
  await collector.collect(clock(), app.collector.snapshot)
  const card = cardOf((await app.inject('/pulse')).body, 'noisy', 'n1')
  t.equal(card.match(/<li><code>queues\[\d+\]\.driver<\/code>/g)?.length, 3, 'three fields named')
  t.match(card, '<p>and 32 more</p>', 'the rest counted, those only counted by the reader included')
  t.match(card, '>kept<', 'the good entry is on the card')
  const reports = badData.about(keys.node('noisy', 'n1'))
  t.equal(reports.length, 21, 'twenty skips and one count reported')
  t.match(reports.at(-1), /^\*: 15 more fields skipped/)
})

t.test('a beat in seconds: read as seconds, alive, flagged, and never lost while it beats', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const node: FleetNode = { service: 'php', nodeId: 'fpm-1', style: 'indexed' }
  const nodeLost = () => metricsFromSnapshot(app.collector.snapshot).samples.find((s) => s.target.id === 'php/fpm-1' && s.metric === 'node_lost')?.value
  for (let tick = 0; tick < 40; tick++) {
    if (tick % 5 === 0) await writeBeat(redis, node, clock(), Math.floor(clock() / 1000), { runtime: { uptime: tick } })
    await app.collector.refresh()
    t.equal(nodeLost(), 0, `tick ${tick}: not lost`)
    clock.advance(2_000)
  }
  const shown = (await app.inject('/api/pulse/nodes')).json().services[0].nodes[0]
  t.equal(shown.health, 'fresh')
  t.equal(shown.clockNote, 'seconds')
  t.equal(shown.timestamp % 1000, 0, 'read as milliseconds from seconds')
  t.ok(Math.abs(shown.timestamp - clock()) < 15_000, 'the beat time is where the beat was')
  t.match(cardOf((await app.inject('/pulse')).body, 'php', 'fpm-1'), 'read as seconds')
  clock.advance(31_000)
  await app.collector.refresh()
  t.equal(nodeLost(), 1, 'once it stops, it is lost like any node')
})

t.test('the original Quasar agent: queue counts read, the card says it is a legacy agent', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const legacy: FleetNode = { service: 'gravito', nodeId: 'old-1', style: 'legacy' }
  const modern: FleetNode = { service: 'gravito', nodeId: 'new-1', style: 'indexed' }
  await writeBeat(redis, legacy, clock(), clock(), {
    queues: [
      { name: 'default', driver: 'redis', size: { waiting: 12, active: 2, failed: 1, delayed: 4 } },
      { name: 'mail', driver: 'redis', size: { waiting: 3, active: 0, failed: 0, delayed: 0 } },
    ],
  })
  await writeBeat(redis, modern, clock(), clock(), { queues: [{ name: 'fresh', driver: 'bullmq', metrics: { waiting: 1 } }] })
  await app.collector.refresh()
  await app.collector.refresh()
  const page = (await app.inject('/pulse')).body
  const card = cardOf(page, 'gravito', 'old-1')
  t.match(card, '<p class="legacy-note" role="note">legacy agent: original Quasar heartbeat format</p>')
  t.match(card, /<span class="q-name">default<\/span>.*?<td>12<\/td><td>2<\/td><td class="is-failed">1<\/td>/s, 'counts on the card')
  t.notMatch(cardOf(page, 'gravito', 'new-1'), 'legacy-note', 'a current agent is not marked')
  t.notMatch(card, 'skip-note', 'nothing skipped')
  const queues = (await app.inject('/api/pulse/queues')).json().queues as Beat[]
  t.match(
    queues.find((q) => q.name === 'default'),
    { service: 'gravito', driver: 'other', waiting: 12, active: 2, delayed: 4, failed: 1, nodeId: 'old-1' },
    'a queue in /queues with its counts',
  )
  t.match((await app.inject('/pulse/gravito/old-1')).body, 'legacy agent: original Quasar heartbeat format', 'the node page says it too')
})
