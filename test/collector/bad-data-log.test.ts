/**
 * The bad-data log cannot flood: per key once per interval, at most N lines per window in total,
 * and one summary per window whose counts are exact. Driven by a fake clock and a hand-run timer.
 */
import t from 'tap'
import { createBadDataLog, SUMMARY_MESSAGE, type BadDataLogOptions } from '../../server/collector/bad-data-log.js'
import { fakeClock } from '../helpers/app.js'

interface Line {
  readonly fields: Record<string, unknown>
  readonly msg: string
}

function setup(options: BadDataLogOptions = {}) {
  const clock = fakeClock(Date.UTC(2026, 10, 23, 12, 0, 0))
  const lines: Line[] = []
  const timers: { run: () => void; at: number }[] = []
  const log = createBadDataLog({ warn: ((fields: Record<string, unknown>, msg: string) => void lines.push({ fields, msg })) as never }, clock, {
    schedule: (run, ms) => void timers.push({ run, at: clock() + ms }),
    ...options,
  })
  /** moves the clock to `ms` and runs every timer due by then, as the event loop would */
  const advanceTo = (ms: number) => {
    clock.set(ms)
    for (const timer of timers.splice(0)) {
      if (timer.at <= ms) timer.run()
      else timers.push(timer)
    }
  }
  const single = () => lines.filter((line) => line.msg === 'skipped bad agent data')
  const summaries = () => lines.filter((line) => SUMMARY_MESSAGE.test(line.msg))
  return { clock, lines, timers, log, advanceTo, single, summaries }
}

const WINDOW_START = Date.UTC(2026, 10, 23, 12, 0, 0)
const keyOf = (i: number) => `gravito:quasar:node:svc:n${i}`

t.test('30,000 reports over 30,000 keys: 20 lines and one summary with exact counts', async (t) => {
  const { log, lines, advanceTo, single, summaries } = setup()
  for (let i = 0; i < 30_000; i++) log.report(keyOf(i), 'malformed JSON')
  t.equal(single().length, 20, 'twenty keys logged one by one')
  t.same(
    single().map((line) => line.fields.key),
    Array.from({ length: 20 }, (_, i) => JSON.stringify(keyOf(i))),
    'the first twenty, in order',
  )
  t.equal(summaries().length, 0, 'no summary before the window ends')

  advanceTo(WINDOW_START + 60_000)
  t.equal(lines.length, 21, 'the window ends with one summary line and nothing else')
  const [summary] = summaries()
  t.match(summary?.msg, /^skipped bad agent data: 29980 reports over 29980 keys in 60 s not logged one by one$/)
  t.match(summary?.fields, { reports: 29_980, keys: 29_980, from: WINDOW_START, to: WINDOW_START + 60_000 })
  t.same(
    summary?.fields.examples,
    [20, 21, 22, 23, 24].map((i) => JSON.stringify(keyOf(i))),
    'a few unlogged keys as examples',
  )
  t.equal(log.reportsInLastWindow(), 30_000, 'every report is counted, logged or not')
})

t.test('the same keys reported every tick: reports and distinct keys counted exactly', async (t) => {
  const { log, advanceTo, single, summaries } = setup()
  // three ticks of 2 s over 30,000 keys, then one more key once
  for (let tick = 0; tick < 3; tick++) {
    advanceTo(WINDOW_START + tick * 2_000)
    for (let i = 0; i < 30_000; i++) log.report(keyOf(i), 'malformed JSON')
  }
  log.report('gravito:quasar:slow:other', 'key holds a hash, not a stream')
  t.equal(single().length, 20, 'the twenty logged keys stay quiet on later ticks (per-key rule)')
  advanceTo(WINDOW_START + 60_000)
  // ticks 2 and 3 repeat the 20 logged keys silently; the other 29,980 keys go to the summary each tick
  t.match(summaries()[0]?.fields, { reports: 29_980 * 3 + 1, keys: 29_981 })
  t.equal(log.reportsInLastWindow(), 90_001)

  // next window: the next twenty keys get their own lines, the first twenty are still remembered
  for (let i = 0; i < 30_000; i++) log.report(keyOf(i), 'malformed JSON')
  t.same(
    single()
      .slice(20)
      .map((line) => line.fields.key),
    Array.from({ length: 20 }, (_, i) => JSON.stringify(keyOf(20 + i))),
  )
  advanceTo(WINDOW_START + 120_000)
  t.match(summaries()[1]?.fields, { reports: 29_960, keys: 29_960 })
})

t.test('the summary comes when the window ends, without another report', async (t) => {
  const { log, timers, advanceTo, summaries } = setup({ linesPerWindow: 2 })
  for (let i = 0; i < 5; i++) log.report(keyOf(i), 'x')
  t.equal(timers.length, 1, 'one timer for the window, not one per report')
  advanceTo(WINDOW_START + 59_999)
  t.equal(summaries().length, 0)
  advanceTo(WINDOW_START + 60_000)
  t.match(summaries()[0]?.fields, { reports: 3, keys: 3 })
})

t.test('a timer that fires early waits for the window to end', async (t) => {
  const { log, timers, clock, summaries } = setup({ linesPerWindow: 0 })
  log.report(keyOf(1), 'x')
  timers.shift()!.run()
  t.equal(summaries().length, 0, 'the clock is still inside the window')
  t.equal(timers.length, 1, 'rescheduled')
  clock.set(timers[0]!.at)
  timers.shift()!.run()
  t.match(summaries()[0]?.fields, { reports: 1, keys: 1 })
})

t.test('a quiet window logs no summary, and the count falls back to zero', async (t) => {
  const { log, lines, advanceTo } = setup()
  for (let i = 0; i < 5; i++) log.report(keyOf(i), 'x')
  advanceTo(WINDOW_START + 60_000)
  t.equal(lines.length, 5)
  t.equal(log.reportsInLastWindow(), 5)
  advanceTo(WINDOW_START + 120_000)
  t.equal(log.reportsInLastWindow(), 0, 'the window before this one had no report')
})

t.test('per key: once per interval, again after it', async (t) => {
  const { log, advanceTo, single } = setup({ perKeyIntervalMs: 10_000 })
  for (let tick = 0; tick < 5; tick++) {
    advanceTo(WINDOW_START + tick * 2_000)
    log.report(keyOf(1), 'x')
  }
  t.equal(single().length, 1)
  advanceTo(WINDOW_START + 10_000)
  log.report(keyOf(1), 'x')
  t.equal(single().length, 2)
})

t.test('distinct keys past the cap are reported as "more than"', async (t) => {
  const { log, advanceTo, summaries } = setup({ linesPerWindow: 0, maxCountedKeys: 100 })
  for (let i = 0; i < 150; i++) log.report(keyOf(i), 'x')
  advanceTo(WINDOW_START + 60_000)
  t.match(summaries()[0]?.msg, /^skipped bad agent data: 150 reports over more than 100 keys/)
  t.match(summaries()[0]?.fields, { reports: 150, keys: null })
})

t.test('keys and reasons are shown escaped and bounded', async (t) => {
  const { log, single } = setup()
  log.report(`evil\n{"level":60}${'k'.repeat(10_000)}`, `reason ${'r'.repeat(10_000)}`)
  const [line] = single()
  t.notMatch(String(line?.fields.key), '\n', 'a newline cannot start a forged line')
  t.ok(String(line?.fields.key).length <= 300)
  t.ok(String(line?.fields.reason).length <= 300)
})

t.test('one log per logger: the areas of an app share one line budget', async (t) => {
  const lines: string[] = []
  const logger = { warn: ((_: unknown, msg: string) => void lines.push(msg)) as never }
  const clock = fakeClock()
  const nodes = createBadDataLog(logger, clock)
  const slow = createBadDataLog(logger, clock)
  t.equal(nodes, slow)
  for (let i = 0; i < 15; i++) nodes.report(`node ${i}`, 'x')
  for (let i = 0; i < 15; i++) slow.report(`slow ${i}`, 'x')
  t.equal(lines.length, 20, 'twenty lines in all, not twenty per area')
  t.not(createBadDataLog({ warn: () => {} }, clock), nodes, 'another logger has its own')
})
