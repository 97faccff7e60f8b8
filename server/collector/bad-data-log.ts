/**
 * Logs bad agent data without letting agents flood the console's log. Two rules:
 * - per key: a key is logged at most once per `perKeyIntervalMs` (a broken agent rewriting its key
 *   every 10 s is told about once), remembering at most `maxKeys` keys, the oldest forgotten first;
 * - in total: at most `linesPerWindow` lines per window of `windowMs`. Reports past that are
 *   counted, and one summary line per window gives how many reports over how many keys were not
 *   logged one by one, with a few example keys. 30,000 bad keys wrote 20 MB of log in 40 s
 *   before; now they write 20 lines and one summary a minute. A key that went into a summary is
 *   not remembered, so it gets a line of its own in a later window.
 *
 * Distinct keys in a summary are counted by a 53-bit hash of each key (two keys share one with a
 * chance under 1 in 10 million at 30,000 keys), up to `maxCountedKeys` per window: memory stays
 * bounded whatever the keys' length; past the cap the summary says "more than".
 *
 * Every report, printed or not, also goes to the log's problem record (`problems`), which
 * `/problems` and `zenith doctor` show: the rate limit keeps the log readable, the record keeps
 * every problem findable.
 */
import type { FastifyBaseLogger } from 'fastify'
import { cutText } from '@gravito/quasar/protocol'
import { createProblemRecord, type ProblemRecord, type ProblemRecordOptions } from './problem-record.js'
import { textHash } from './text-hash.js'
import type { SkippedKeyLog } from '../redis/key-errors.js'

/** What a collector part reports bad agent data to: the same narrow shape the Redis readers take. */
export type BadDataLog = SkippedKeyLog

export interface BadDataCounter extends BadDataLog {
  /** reports (logged or not) in the last complete window, for a page to show */
  reportsInLastWindow(): number
  /** every report of the last hour, logged or not, bounded */
  readonly problems: ProblemRecord
}

export interface BadDataLogOptions {
  readonly perKeyIntervalMs?: number
  readonly maxKeys?: number
  readonly linesPerWindow?: number
  readonly windowMs?: number
  readonly exampleKeys?: number
  readonly maxCountedKeys?: number
  /** runs `flush` once `ms` have passed; by default an unref'd timer */
  readonly schedule?: (flush: () => void, ms: number) => void
  readonly problems?: ProblemRecordOptions
}

type WarnLog = Pick<FastifyBaseLogger, 'warn'>

export const SUMMARY_MESSAGE = /^skipped bad agent data: \d+ reports over (more than )?\d+ keys/
const KEY_SHOWN = 300

/**
 * One log per logger: the areas of one app (nodes, queues, slow, commands) each create theirs,
 * and all of them share the per-key memory and the line budget, so the budget is global.
 * Passing options makes a log of its own (tests).
 */
const shared = new WeakMap<object, BadDataCounter>()

export function createBadDataLog(log: WarnLog, clock: () => number, options?: BadDataLogOptions): BadDataCounter {
  if (options) return createLog(log, clock, options)
  const existing = shared.get(log)
  if (existing) return existing
  const created = createLog(log, clock, {})
  shared.set(log, created)
  return created
}

interface Window {
  readonly start: number
  reports: number
  lines: number
  unlogged: number
  readonly unloggedKeys: Set<number>
  keysOverflow: boolean
  readonly examples: string[]
  flushScheduled: boolean
}

function createLog(log: WarnLog, clock: () => number, options: BadDataLogOptions): BadDataCounter {
  const {
    perKeyIntervalMs = 10 * 60_000,
    maxKeys = 10_000,
    linesPerWindow = 20,
    windowMs = 60_000,
    exampleKeys = 5,
    maxCountedKeys = 100_000,
    schedule = (flush: () => void, ms: number) => setTimeout(flush, ms).unref(),
  } = options
  const problems = createProblemRecord(options.problems)
  const lastLogged = new Map<string, number>()
  let window = openWindow(clock())
  let lastWindowReports = 0

  function openWindow(now: number): Window {
    const start = Math.floor(now / windowMs) * windowMs
    return { start, reports: 0, lines: 0, unlogged: 0, unloggedKeys: new Set(), keysOverflow: false, examples: [], flushScheduled: false }
  }

  /** closes the window once the clock has left it, logging its summary */
  function roll(now: number): void {
    const end = window.start + windowMs
    if (now >= window.start && now < end) return
    if (window.unlogged > 0) {
      const keys = window.keysOverflow ? `more than ${maxCountedKeys}` : String(window.unloggedKeys.size)
      log.warn(
        { reports: window.unlogged, keys: window.keysOverflow ? null : window.unloggedKeys.size, examples: window.examples, from: window.start, to: end },
        `skipped bad agent data: ${window.unlogged} reports over ${keys} keys in ${windowMs / 1000} s not logged one by one`,
      )
    }
    lastWindowReports = now >= end && now < end + windowMs ? window.reports : 0
    window = openWindow(now)
  }

  function flush(): void {
    const now = clock()
    const end = window.start + windowMs
    if (now >= window.start && now < end) schedule(flush, end - now)
    else roll(now)
  }

  function remember(key: string, now: number): void {
    lastLogged.delete(key)
    if (lastLogged.size >= maxKeys) {
      const oldest = lastLogged.keys().next().value
      if (oldest !== undefined) lastLogged.delete(oldest)
    }
    lastLogged.set(key, now)
  }

  function countUnlogged(key: string, now: number): void {
    window.unlogged++
    const hash = textHash(key)
    if (!window.unloggedKeys.has(hash)) {
      if (window.unloggedKeys.size < maxCountedKeys) window.unloggedKeys.add(hash)
      else window.keysOverflow = true
      if (window.examples.length < exampleKeys) window.examples.push(shown(key))
    }
    if (!window.flushScheduled) {
      window.flushScheduled = true
      schedule(flush, window.start + windowMs - now)
    }
  }

  return {
    report(key, reason) {
      const now = clock()
      problems.add(key, reason, now)
      roll(now)
      window.reports++
      const last = lastLogged.get(key)
      if (last !== undefined && now - last < perKeyIntervalMs && now >= last) return
      if (window.lines >= linesPerWindow) {
        countUnlogged(key, now)
        return
      }
      window.lines++
      remember(key, now)
      log.warn({ key: shown(key), reason: cutText(reason, KEY_SHOWN) }, 'skipped bad agent data')
    },
    reportsInLastWindow() {
      roll(clock())
      return lastWindowReports
    },
    problems,
  }
}

/** JSON.stringify keeps control characters and markup in the key from forging log lines */
function shown(key: string): string {
  return cutText(JSON.stringify(key), KEY_SHOWN)
}
