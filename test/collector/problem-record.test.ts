/**
 * The problem record: exact counts and times per (key, reason) whatever the order of reports,
 * the bound (least recently seen evicted first, counted as not kept until seen again), the
 * one-hour window, and the cut of long keys and reasons. Time is a number the test moves.
 */
import t from 'tap'
import { createProblemRecord, MAX_PROBLEMS, PROBLEM_KEY_LENGTH, PROBLEM_REASON_LENGTH, PROBLEM_WINDOW_MS } from '../../server/collector/problem-record.js'
import { createBadDataLog } from '../../server/collector/bad-data-log.js'
import { shuffled } from '../helpers/shuffle.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)

t.test('many keys and reasons in many orders: one entry each, exact counts and times', async (t) => {
  const reasons = ['malformed JSON', 'key holds a hash, not a string', 'cpu.system: 150 is above 100; clamped']
  const reports: { key: string; reason: string; times: number }[] = []
  for (let k = 0; k < 40; k++) for (const [r, reason] of reasons.entries()) if ((k + r) % 2 === 0) reports.push({ key: `gravito:quasar:node:svc:n${k}`, reason, times: 1 + ((k * 7 + r) % 5) })
  for (const seed of [1, 2, 3, 4]) {
    const record = createProblemRecord()
    // each report repeated `times` times, all of them in a shuffled order, one ms apart
    const sequence = shuffled(
      reports.flatMap((report) => Array.from({ length: report.times }, () => report)),
      seed,
    )
    const first = new Map<string, number>()
    const last = new Map<string, number>()
    sequence.forEach((report, i) => {
      const id = `${report.key}|${report.reason}`
      if (!first.has(id)) first.set(id, T0 + i)
      last.set(id, T0 + i)
      record.add(report.key, report.reason, T0 + i)
    })
    const { problems, notKept } = record.list(T0 + sequence.length)
    t.equal(problems.length, reports.length, `seed ${seed}: one entry per key and reason`)
    t.same(notKept, { count: 0, more: false })
    for (const report of reports) {
      const id = `${report.key}|${report.reason}`
      const entry = problems.find((problem) => problem.key === report.key && problem.reason === report.reason)
      t.same(entry, { key: report.key, reason: report.reason, count: report.times, firstSeenAt: first.get(id), lastSeenAt: last.get(id) }, `seed ${seed}: ${id}`)
    }
    t.same(
      problems.map((problem) => problem.lastSeenAt),
      [...last.values()].sort((a, b) => a - b),
      'least recently seen first',
    )
  }
})

t.test('past the bound the least recently seen go first, and are counted until seen again', async (t) => {
  const record = createProblemRecord({ maxEntries: 10 })
  for (let i = 0; i < 25; i++) record.add(`key ${i}`, 'x', T0 + i)
  // key 0 is seen again before the bound bites harder: it must survive the next evictions
  let { problems, notKept } = record.list(T0 + 25)
  t.same(
    problems.map((problem) => problem.key),
    Array.from({ length: 10 }, (_, i) => `key ${15 + i}`),
  )
  t.same(notKept, { count: 15, more: false }, 'the 15 evicted problems are counted')

  record.add('key 3', 'x', T0 + 30)
  ;({ problems, notKept } = record.list(T0 + 30))
  t.equal(problems.at(-1)?.key, 'key 3', 'an evicted problem seen again comes back, as the newest')
  t.equal(problems.at(-1)?.count, 1, 'its count starts again')
  t.equal(problems[0]?.key, 'key 16', 'and the least recently seen made room')
  t.same(notKept, { count: 15, more: false }, 'key 3 left the count, key 15 joined it')

  record.add('key 16', 'x', T0 + 31)
  record.add('key 99', 'x', T0 + 32)
  ;({ problems } = record.list(T0 + 32))
  t.notOk(
    problems.some((problem) => problem.key === 'key 17'),
    'key 17 (not key 16, seen again) was evicted',
  )
  t.ok(problems.some((problem) => problem.key === 'key 16'))
})

t.test('the same key with another reason is another problem', async (t) => {
  const record = createProblemRecord({ maxEntries: 3 })
  record.add('k', 'a', T0)
  record.add('k', 'b', T0 + 1)
  record.add('k', 'a', T0 + 2)
  t.same(
    record.list(T0 + 2).problems.map((problem) => [problem.reason, problem.count]),
    [
      ['b', 1],
      ['a', 2],
    ],
  )
})

t.test('past the count of evicted problems the record says "more than"', async (t) => {
  const record = createProblemRecord({ maxEntries: 5, maxCountedEvicted: 20 })
  for (let i = 0; i < 100; i++) record.add(`key ${i}`, 'x', T0)
  t.same(record.list(T0).notKept, { count: 20, more: true })
  t.same(record.list(T0 + PROBLEM_WINDOW_MS).notKept, { count: 0, more: false }, 'an hour later, nothing is left to count')
})

t.test('one hour: a problem not seen for an hour leaves, one seen again stays', async (t) => {
  const record = createProblemRecord({ maxEntries: 4 })
  for (let i = 0; i < 6; i++) record.add(`key ${i}`, 'x', T0)
  record.add('key 5', 'x', T0 + 30 * 60_000)
  t.equal(record.list(T0 + PROBLEM_WINDOW_MS - 1).problems.length, 4, 'all kept within the hour')
  t.equal(record.list(T0 + PROBLEM_WINDOW_MS - 1).notKept.count, 2)
  const later = record.list(T0 + PROBLEM_WINDOW_MS)
  t.same(
    later.problems.map((problem) => problem.key),
    ['key 5'],
    'only the key seen half an hour in is left',
  )
  t.same(later.problems[0], { key: 'key 5', reason: 'x', count: 2, firstSeenAt: T0, lastSeenAt: T0 + 30 * 60_000 })
  t.same(later.notKept, { count: 0, more: false }, 'the evicted problems of an hour ago are not counted any more')
  t.same(record.list(T0 + 90 * 60_000).problems, [], 'and it leaves an hour after its last sighting')
})

t.test('a reader a little behind the last report still sees it', async (t) => {
  const record = createProblemRecord()
  record.add('key', 'x', T0 + 500)
  t.equal(record.list(T0).problems.length, 1)
})

t.test('keys and reasons are cut to a bound', async (t) => {
  const record = createProblemRecord()
  record.add(`k${'😀'.repeat(10_000)}`, `r${'x'.repeat(100_000)}`, T0)
  const [problem] = record.list(T0).problems
  t.ok(problem!.key.length <= PROBLEM_KEY_LENGTH && problem!.key.endsWith('…'))
  t.ok(problem!.reason.length <= PROBLEM_REASON_LENGTH && problem!.reason.endsWith('…'))
  t.notMatch(problem!.key, /[\ud800-\udbff]…$/, 'no half of a surrogate pair before the marker')
  t.equal(MAX_PROBLEMS, 500)
})

t.test('the bad-data log records every report, those its rate limit does not print too', async (t) => {
  let now = T0
  const printed: string[] = []
  const log = createBadDataLog({ warn: ((fields: { key?: string }) => void (fields.key && printed.push(fields.key))) as never }, () => now, { linesPerWindow: 3, schedule: () => {} })
  for (let i = 0; i < 50; i++) log.report(`gravito:quasar:node:svc:n${i}`, 'malformed JSON')
  now += 2_000
  for (let i = 0; i < 50; i++) log.report(`gravito:quasar:node:svc:n${i}`, 'malformed JSON')
  t.equal(printed.length, 3, 'the log printed three lines')
  const { problems } = log.problems.list(now)
  t.equal(problems.length, 50, 'the record has all fifty keys')
  t.ok(problems.every((problem) => problem.count === 2 && problem.firstSeenAt === T0 && problem.lastSeenAt === T0 + 2_000))
})
