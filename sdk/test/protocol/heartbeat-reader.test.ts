/**
 * readHeartbeat drops, clamps or cuts the smallest unit at fault and names it: each defect below
 * is planted in a full beat, alone and all together, with the beat's keys in many orders, and the
 * rest of the beat must come back exactly as written.
 */
import t, { type Test } from 'tap'
import { MAX_SKIPS, readHeartbeat, type Skip } from '../../src/protocol/index.js'
import { seededRandom, shuffled } from '../../../test/helpers/shuffle.js'

const NOW = Date.UTC(2026, 10, 23, 12)

type Beat = Record<string, any>

function fullBeat(): Beat {
  return {
    id: 'web-1',
    service: 'billing',
    language: 'python',
    version: '3.11.2',
    pid: 4242,
    hostname: 'web-1',
    platform: 'linux',
    cpu: { system: 42.5, process: 12.25, cores: 4 },
    memory: { system: { total: 8e9, free: 3e9, used: 5e9 }, process: { rss: 150e6, heapTotal: 80e6, heapUsed: 60e6 } },
    runtime: { uptime: 3600, framework: 'flask 3' },
    timestamp: NOW,
    eventLoop: { lagMs: 1.5, p99Ms: 12 },
    disk: { path: '/', total: 100e9, free: 40e9 },
    appVersion: '1.2.3',
    queues: [
      { name: 'emails', driver: 'bullmq', metrics: { waiting: 3, active: 1, failed: 0 } },
      { name: 'reports', driver: 'redis-list', metrics: { waiting: 7, active: null } },
      { name: 'imports', driver: 'laravel', metrics: { waiting: 0, delayed: 2 } },
    ],
    protocol: 1,
  }
}

interface Defect {
  name: string
  /** plants the defect in a beat */
  plant(beat: Beat): void
  /** what the reader must make of the planted field (the rest stays as written) */
  expect(beat: Beat): void
  skips: [string, RegExp][]
}

const long = (n: number) => 'h'.repeat(n)

const defects: Defect[] = [
  { name: 'cpu.system over 100', plant: (b) => (b.cpu.system = 150), expect: (b) => (b.cpu.system = 100), skips: [['cpu.system', /^150 is over 100: clamped to 100$/]] },
  { name: "psutil's cpu.process over 100", plant: (b) => (b.cpu.process = 180), expect: (b) => (b.cpu.process = 100), skips: [['cpu.process', /^180 is over 100: clamped to 100$/]] },
  { name: 'cpu.system negative', plant: (b) => (b.cpu.system = -3), expect: (b) => (b.cpu.system = 0), skips: [['cpu.system', /^-3 is under 0: clamped to 0$/]] },
  { name: 'cpu.cores a string', plant: (b) => (b.cpu.cores = 'four'), expect: (b) => delete b.cpu.cores, skips: [['cpu.cores', /^a string, not a number$/]] },
  { name: 'memory.system.total a string', plant: (b) => (b.memory.system.total = '8GB'), expect: (b) => delete b.memory.system.total, skips: [['memory.system.total', /^a string, not a number$/]] },
  { name: 'memory.process.rss negative', plant: (b) => (b.memory.process.rss = -1), expect: (b) => delete b.memory.process.rss, skips: [['memory.process.rss', /^-1 is negative$/]] },
  { name: 'memory.process a list', plant: (b) => (b.memory.process = [1, 2]), expect: (b) => delete b.memory.process, skips: [['memory.process', /^a list, not an object$/]] },
  { name: 'disk.free null', plant: (b) => (b.disk.free = null), expect: (b) => delete b.disk.free, skips: [['disk.free', /^null, not a number$/]] },
  { name: 'eventLoop a string', plant: (b) => (b.eventLoop = 'fast'), expect: (b) => delete b.eventLoop, skips: [['eventLoop', /^a string, not an object$/]] },
  { name: 'hostname over 256 characters', plant: (b) => (b.hostname = long(300)), expect: (b) => (b.hostname = `${long(255)}…`), skips: [['hostname', /^300 characters, over 256: cut$/]] },
  {
    name: 'runtime.framework over 256 characters',
    plant: (b) => (b.runtime.framework = long(257)),
    expect: (b) => (b.runtime.framework = `${long(255)}…`),
    skips: [['runtime.framework', /^257 characters, over 256: cut$/]],
  },
  { name: 'an unknown language', plant: (b) => (b.language = 'rust<b>'), expect: (b) => delete b.language, skips: [['language', /^unknown value "rust<b>"$/]] },
  { name: 'pid not whole', plant: (b) => (b.pid = 3.5), expect: (b) => delete b.pid, skips: [['pid', /^3.5 is not a whole number$/]] },
  {
    name: 'one queue entry with an unknown driver',
    plant: (b) => b.queues.splice(1, 0, { name: 'jobs', driver: 'rq', metrics: { waiting: 1 } }),
    expect: () => {},
    skips: [['queues[1].driver', /^unknown value "rq": entry dropped$/]],
  },
  {
    name: 'one queue entry with a bad name',
    plant: (b) => b.queues.push({ name: 'a\u0000b', driver: 'bullmq', metrics: { waiting: 1 } }),
    expect: () => {},
    skips: [['queues[3].name', /must not contain control characters: entry dropped$/]],
  },
  {
    name: 'one queue count a string',
    plant: (b) => (b.queues[0].metrics.active = '1'),
    expect: (b) => {
      delete b.queues[0].metrics.active
      b.queues[0].skipped = [{ field: 'metrics.active', reason: 'a string, not a number' }]
      b.queues[0].skippedTotal = 1
    },
    skips: [['queues[0].metrics.active', /^a string, not a number$/]],
  },
  {
    name: 'one queue entry not an object',
    plant: (b) => b.queues.unshift('emails'),
    expect: () => {},
    skips: [['queues[0]', /^a string, not an object: entry dropped$/]],
  },
  { name: 'queues not a list', plant: (b) => (b.queues = { emails: 1 }), expect: (b) => delete b.queues, skips: [['queues', /^an object, not a list$/]] },
  { name: 'appVersion a number', plant: (b) => (b.appVersion = 12), expect: (b) => delete b.appVersion, skips: [['appVersion', /^a number, not a string$/]] },
]

/** A copy of `value` with every object's keys in a shuffled order: readers must not depend on it. */
function reorder(value: unknown, next: () => number): unknown {
  if (Array.isArray(value)) return value.map((item) => reorder(item, next))
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(shuffled(Object.entries(value), next).map(([k, v]) => [k, reorder(v, next)]))
}

function read(beat: Beat) {
  const result = readHeartbeat(JSON.parse(JSON.stringify(beat)))
  if (!result.ok) throw new Error(result.error)
  return result
}

function checkSkips(t: Test, skipped: Skip[], expected: [string, RegExp][]) {
  t.same(skipped.map((s) => s.field).sort(), expected.map(([field]) => field).sort(), 'exactly these fields noted')
  for (const [field, reason] of expected) t.match(skipped.find((s) => s.field === field)?.reason, reason, `${field}: the reason`)
}

for (const defect of defects) {
  t.test(`${defect.name}: only that unit is touched, and it is noted`, async (t) => {
    for (let seed = 1; seed <= 4; seed++) {
      const beat = fullBeat()
      defect.plant(beat)
      const expected = fullBeat()
      defect.plant(expected)
      defect.expect(expected)
      // a dropped entry leaves the list without it; a planted entry that is dropped was never there
      if (defect.skips.some(([, reason]) => /entry dropped/.test(reason.source))) expected.queues = fullBeat().queues
      const result = read(reorder(beat, seededRandom(seed)) as Beat)
      t.same(result.value, expected, `seed ${seed}: every other field as written`)
      checkSkips(t, result.skipped, defect.skips)
      t.equal(result.skippedTotal, defect.skips.length)
    }
  })
}

t.test('every defect at once: each noted, everything else intact', async (t) => {
  // the queue defects move indexes about, and some defects overwrite another's field: all
  // together, only those that keep their place and their field
  const apart = new Set(['queues not a list', 'cpu.system negative', 'memory.process a list'])
  const together = defects.filter((d) => !d.name.startsWith('one queue entry') && !apart.has(d.name))
  const beat = fullBeat()
  const expected = fullBeat()
  for (const defect of together) {
    defect.plant(beat)
    defect.plant(expected)
    defect.expect(expected)
  }
  for (let seed = 1; seed <= 6; seed++) {
    const result = read(reorder(beat, seededRandom(seed)) as Beat)
    t.same(result.value, expected, `seed ${seed}`)
    checkSkips(
      t,
      result.skipped,
      together.flatMap((d) => d.skips),
    )
  }
})

t.test('a beat with more bad fields than MAX_SKIPS: the first listed, all counted, the rest kept', async (t) => {
  const beat = fullBeat()
  const good = beat.queues.length
  for (let i = 0; i < 30; i++) beat.queues.push({ name: `q${i}`, driver: `driver-${i}`, metrics: { waiting: i } })
  for (let i = 0; i < 60; i++) beat.queues.push({ name: `ok${i}`, driver: 'other', metrics: { waiting: i } })
  beat.cpu.system = 101
  const result = read(beat)
  t.equal(result.skipped.length, MAX_SKIPS)
  t.equal(result.skippedTotal, 31)
  t.equal(result.value.queues?.length, good + 60, 'every good entry kept')
  t.equal(result.value.cpu?.system, 100)
})

t.test('more than 100 queue entries: the first 100 read, and noted', async (t) => {
  const beat = fullBeat()
  beat.queues = Array.from({ length: 130 }, (_, i) => ({ name: `q${i}`, driver: 'bullmq', metrics: { waiting: i } }))
  const result = read(beat)
  t.same(
    result.value.queues?.map((q) => q.name),
    Array.from({ length: 100 }, (_, i) => `q${i}`),
  )
  checkSkips(t, result.skipped, [['queues', /^130 entries, over 100: the first 100 read$/]])
})

t.test('a timestamp in seconds is read as seconds and flagged; other times as written', async (t) => {
  const cases: [number, number, boolean][] = [
    [Math.floor(NOW / 1000), Math.floor(NOW / 1000) * 1000, true],
    [NOW / 1000, NOW, true],
    [1e9, 1e12, true],
    [1e11, 1e11, false],
    [NOW, NOW, false],
    [999_999_999, 999_999_999, false],
    [0, 0, false],
  ]
  for (const [written, ms, seconds] of cases) {
    for (const beat of [fullBeat(), { ...fullBeat(), cpu: { system: 'x' } }]) {
      const result = read({ ...beat, timestamp: written })
      t.equal(result.value.timestamp, ms, `${written} read as ${ms}`)
      t.equal(result.secondsTimestamp, seconds, `${written}: flagged ${seconds}`)
    }
  }
})

t.test("the original Quasar agent's queue entries: read with their counts, marked legacy", async (t) => {
  const beat = fullBeat()
  beat.queues = [
    { name: 'default', driver: 'redis', size: { waiting: 12, active: 2, failed: 1, delayed: 4 } },
    { name: 'mail', driver: 'redis', size: { waiting: 0, active: 0, failed: 0, delayed: 0 } },
    { name: 'broken', driver: 'redis', size: { waiting: 'x', active: 1, failed: 0, delayed: 0 } },
    { name: 'modern', driver: 'bullmq', metrics: { waiting: 5 } },
  ]
  for (let seed = 1; seed <= 3; seed++) {
    const result = read(reorder(beat, seededRandom(seed)) as Beat)
    t.ok(result.legacyQueues, 'the beat is marked as the legacy format')
    t.same(result.value.queues, [
      { name: 'default', driver: 'other', metrics: { waiting: 12, active: 2, failed: 1, delayed: 4 }, legacy: true },
      { name: 'mail', driver: 'other', metrics: { waiting: 0, active: 0, failed: 0, delayed: 0 }, legacy: true },
      { name: 'broken', driver: 'other', metrics: { active: 1, failed: 0, delayed: 0 }, legacy: true, skipped: [{ field: 'size.waiting', reason: 'a string, not a number' }], skippedTotal: 1 },
      { name: 'modern', driver: 'bullmq', metrics: { waiting: 5 } },
    ])
    t.same(result.value.cpu, fullBeat().cpu, 'the rest of the beat intact')
  }
  const modern = read(fullBeat())
  t.notOk(modern.legacyQueues, 'a beat of today is not marked')
})

t.test('unknown fields and __proto__ are never copied, at any depth', async (t) => {
  const raw = JSON.stringify({ ...fullBeat(), cpu: { system: 500, process: 1, cores: 2, extra: 1 } }).replace('"cores"', '"__proto__":{"polluted":true},"cores"')
  const result = readHeartbeat(JSON.parse(raw))
  t.ok(result.ok)
  if (!result.ok) return
  t.same(Object.keys(result.value.cpu ?? {}).sort(), ['cores', 'process', 'system'])
  t.equal((result.value.cpu as Record<string, unknown>).polluted, undefined)
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})
