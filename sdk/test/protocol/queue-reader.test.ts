/**
 * readQueueSnapshot drops, cuts or clamps the smallest unit at fault: a field of a failed job, a
 * stack line, one failed job, one queue entry; never an entry's counts for one failed job, nor the
 * snapshot for one entry. A snapshot of many queues, each with a different defect, is read in many
 * orders, and every queue's counts and every good job must come back as written.
 */
import t from 'tap'
import { FAILED_JOB_LIMITS, MAX_SKIPS, readQueueSnapshot, type ReadQueue } from '../../src/protocol/index.js'
import { seededRandom, shuffled } from '../../../test/helpers/shuffle.js'

const NOW = Date.UTC(2026, 10, 23, 12)
type Entry = Record<string, any>

const job = (id: string, extra: Entry = {}): Entry => ({
  id,
  name: 'send',
  failedReason: 'SMTP timeout',
  stacktrace: ['Error: SMTP timeout', '    at send (mail.js:1:1)'],
  attemptsMade: 3,
  timestamp: NOW - 5_000,
  data: '{"to":1}',
  ...extra,
})
const queue = (name: string, extra: Entry = {}): Entry => ({
  name,
  driver: 'bullmq',
  metrics: { waiting: 12, active: 2, delayed: 1, failed: 3, completed: 90 },
  oldestWaitingMs: 5400,
  failedJobs: [job(`${name}-1`), job(`${name}-2`), job(`${name}-3`)],
  ...extra,
})

interface Defect {
  name: string
  /** the entry as the agent wrote it */
  written: Entry
  /** the entry as read, without its `skipped` list; null when the entry itself is dropped */
  read: Entry | null
  /** skips, relative to the entry */
  skips: [string, RegExp][]
}

const longReason = 'E'.repeat(FAILED_JOB_LIMITS.reason + 1)
const longData = `{"blob":"${'d'.repeat(FAILED_JOB_LIMITS.data)}"}`
const longLine = `at ${'x'.repeat(FAILED_JOB_LIMITS.stack)}`
const elevenLines = Array.from({ length: 11 }, (_, i) => `line ${i}`)

function withJob(name: string, index: number, change: Entry | ((job: Entry) => Entry | null)): Entry {
  const q = queue(name)
  const jobs = q.failedJobs as Entry[]
  const changed = typeof change === 'function' ? change(jobs[index]!) : { ...jobs[index], ...change }
  q.failedJobs = changed === null ? jobs.filter((_, i) => i !== index) : jobs.map((j, i) => (i === index ? changed : j))
  return q
}

const defects: Defect[] = [
  { name: 'clean', written: queue('clean'), read: queue('clean'), skips: [] },
  {
    name: 'long-reason',
    written: withJob('long-reason', 1, { failedReason: longReason }),
    read: withJob('long-reason', 1, { failedReason: `${'E'.repeat(FAILED_JOB_LIMITS.reason - 1)}…` }),
    skips: [['failedJobs[1].failedReason', /^2049 characters, over 2048: cut$/]],
  },
  {
    name: 'long-data',
    written: withJob('long-data', 0, { data: longData }),
    read: withJob('long-data', 0, { data: `${longData.slice(0, FAILED_JOB_LIMITS.data - 1)}…` }),
    skips: [['failedJobs[0].data', /^4107 characters, over 4096: cut$/]],
  },
  {
    name: 'long-line',
    written: withJob('long-line', 2, { stacktrace: ['Error', longLine] }),
    read: withJob('long-line', 2, { stacktrace: ['Error', `${longLine.slice(0, FAILED_JOB_LIMITS.stack - 1)}…`] }),
    skips: [['failedJobs[2].stacktrace[1]', /^8195 characters, over 8192: cut$/]],
  },
  {
    name: 'eleven-lines',
    written: withJob('eleven-lines', 0, { stacktrace: elevenLines }),
    read: withJob('eleven-lines', 0, { stacktrace: elevenLines.slice(0, 10) }),
    skips: [['failedJobs[0].stacktrace', /^11 lines, over 10: the first 10 kept$/]],
  },
  {
    name: 'bad-line',
    written: withJob('bad-line', 0, { stacktrace: ['Error', 42, 'at x'] }),
    read: withJob('bad-line', 0, { stacktrace: ['Error', 'at x'] }),
    skips: [['failedJobs[0].stacktrace[1]', /^a number, not a string$/]],
  },
  {
    name: 'no-id',
    written: withJob('no-id', 1, ({ id: _id, ...rest }) => rest),
    read: withJob('no-id', 1, () => null),
    skips: [['failedJobs[1].id', /^missing: job dropped$/]],
  },
  {
    name: 'long-id',
    written: withJob('long-id', 0, { id: 'i'.repeat(257) }),
    read: withJob('long-id', 0, () => null),
    skips: [['failedJobs[0].id', /^257 characters, over 256: job dropped$/]],
  },
  {
    name: 'job-not-object',
    written: withJob('job-not-object', 2, () => 'oops' as unknown as Entry),
    read: withJob('job-not-object', 2, () => null),
    skips: [['failedJobs[2]', /^a string, not an object: job dropped$/]],
  },
  {
    name: 'job-seconds',
    written: withJob('job-seconds', 0, { timestamp: Math.floor(NOW / 1000) }),
    read: withJob('job-seconds', 0, { timestamp: Math.floor(NOW / 1000) * 1000 }),
    skips: [['failedJobs[0].timestamp', /^in seconds, not milliseconds: read as seconds$/]],
  },
  {
    name: 'many-jobs',
    written: { ...queue('many-jobs'), failedJobs: Array.from({ length: 51 }, (_, i) => job(`j${i}`)) },
    read: { ...queue('many-jobs'), failedJobs: Array.from({ length: 50 }, (_, i) => job(`j${i}`)) },
    skips: [['failedJobs', /^51 jobs, over 50: the first 50 read$/]],
  },
  {
    name: 'jobs-not-list',
    written: { ...queue('jobs-not-list'), failedJobs: { id: 1 } },
    read: (({ failedJobs: _f, ...rest }) => rest)(queue('jobs-not-list')),
    skips: [['failedJobs', /^an object, not a list$/]],
  },
  {
    name: 'negative-active',
    written: { ...queue('negative-active'), metrics: { ...queue('x').metrics, active: -1 } },
    read: { ...queue('negative-active'), metrics: { waiting: 12, delayed: 1, failed: 3, completed: 90 } },
    skips: [['metrics.active', /^-1 is negative$/]],
  },
  {
    name: 'string-waiting',
    written: { ...queue('string-waiting'), metrics: { ...queue('x').metrics, waiting: '12' } },
    read: { ...queue('string-waiting'), metrics: { active: 2, delayed: 1, failed: 3, completed: 90 } },
    skips: [['metrics.waiting', /^a string, not a number$/]],
  },
  {
    name: 'long-error',
    written: { name: 'long-error', driver: 'redis-list', metrics: { waiting: 0 }, error: 'W'.repeat(600) },
    read: { name: 'long-error', driver: 'redis-list', metrics: { waiting: 0 }, error: `${'W'.repeat(511)}…` },
    skips: [['error', /^600 characters, over 512: cut$/]],
  },
  {
    name: 'bad-oldest',
    written: { ...queue('bad-oldest'), oldestWaitingMs: 'soon' },
    read: (({ oldestWaitingMs: _o, ...rest }) => rest)(queue('bad-oldest')),
    skips: [['oldestWaitingMs', /^a string, not a number$/]],
  },
  { name: 'unknown-driver', written: { ...queue('unknown-driver'), driver: 'rq' }, read: null, skips: [['driver', /^unknown value "rq": entry dropped$/]] },
  { name: 'bad\u0007name', written: queue('bad\u0007name'), read: null, skips: [['name', /must not contain control characters: entry dropped$/]] },
]

function withoutSkips(q: ReadQueue): Entry {
  const { skipped: _s, skippedTotal: _t, ...rest } = q
  return rest
}

t.test('a snapshot of queues each with its own defect, in many orders', async (t) => {
  for (let seed = 1; seed <= 8; seed++) {
    const order = shuffled(defects, seededRandom(seed))
    const result = readQueueSnapshot(JSON.parse(JSON.stringify({ timestamp: NOW, service: 'billing', nodeId: 'w1', queues: order.map((d) => d.written) })))
    t.ok(result.ok, `seed ${seed}: read`)
    if (!result.ok) return
    const byName = new Map(result.value.queues.map((q) => [q.name, q]))
    t.same(
      result.value.queues.map((q) => q.name),
      order.filter((d) => d.read).map((d) => d.written.name),
      `seed ${seed}: every entry kept but the unnamed and unknown, in order`,
    )
    for (const defect of order) {
      const index = order.indexOf(defect)
      const read = byName.get(defect.written.name)
      if (defect.read === null) {
        t.equal(read, undefined, `${defect.name}: dropped`)
      } else {
        t.same(withoutSkips(read!), defect.read, `seed ${seed}, ${defect.name}: as written but for the defect`)
        t.same(
          (read!.skipped ?? []).map((s) => s.field),
          defect.skips.map(([field]) => field),
          `${defect.name}: noted on the entry`,
        )
        for (const [field, reason] of defect.skips) t.match(read!.skipped?.find((s) => s.field === field)?.reason, reason)
        t.equal(read!.skippedTotal ?? 0, defect.skips.length)
      }
      for (const [field, reason] of defect.skips) {
        t.match(result.skipped.find((s) => s.field === `queues[${index}].${field}`)?.reason, reason, `${defect.name}: noted on the snapshot with its full path`)
      }
    }
    t.equal(
      result.skippedTotal,
      defects.reduce((sum, d) => sum + d.skips.length, 0),
    )
    t.same(result.skipped.length, Math.min(MAX_SKIPS, result.skippedTotal), 'the snapshot list is bounded')
  }
})

t.test('a snapshot timestamp in seconds: read as seconds, noted on the snapshot and on every queue', async (t) => {
  const result = readQueueSnapshot({ timestamp: Math.floor(NOW / 1000), queues: [queue('a'), queue('b')] })
  t.ok(result.ok)
  if (!result.ok) return
  t.equal(result.value.timestamp, Math.floor(NOW / 1000) * 1000)
  t.ok(result.secondsTimestamp)
  t.same(result.skipped, [{ field: 'timestamp', reason: 'in seconds, not milliseconds: read as seconds' }])
  for (const q of result.value.queues) t.match(q.skipped, [{ field: 'timestamp', reason: /in seconds/ }], `${q.name} says so`)
})

t.test('what is still refused whole, and bounded lists', async (t) => {
  t.match(readQueueSnapshot([]), { ok: false, error: /not a JSON object/ })
  t.match(readQueueSnapshot({ queues: [] }), { ok: false, error: /timestamp/ })
  t.match(readQueueSnapshot({ timestamp: 'now', queues: [] }), { ok: false, error: /timestamp/ })
  const notList = readQueueSnapshot({ timestamp: NOW, queues: 'none' })
  t.match(notList, { ok: true, value: { queues: [] }, skipped: [{ field: 'queues', reason: 'a string, not a list' }] })
  const badService = readQueueSnapshot({ timestamp: NOW, service: 'a b', nodeId: 'w1', queues: [queue('q')] })
  t.match(badService, { ok: true, value: { nodeId: 'w1', queues: [{ name: 'q' }] }, skipped: [{ field: 'service' }] }, 'a bad service field is dropped alone')
  const many = readQueueSnapshot({ timestamp: NOW, queues: Array.from({ length: 520 }, (_, i) => ({ name: `q${i}`, driver: 'other', metrics: { waiting: i } })) })
  t.ok(many.ok && many.value.queues.length === 500 && many.skipped[0]?.reason === '520 entries, over 500: the first 500 read')
})

t.test('a text 50 times its bound is cut to the bound, ending in the marker', async (t) => {
  const result = readQueueSnapshot({ timestamp: NOW, queues: [withJob('q', 0, { failedReason: 'R'.repeat(100_000) })] })
  t.ok(result.ok)
  if (!result.ok) return
  const reason = result.value.queues[0]?.failedJobs?.[0]?.failedReason ?? ''
  t.equal(reason.length, FAILED_JOB_LIMITS.reason)
  t.ok(reason.endsWith('…'))
})
