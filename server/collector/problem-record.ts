/**
 * What the console skipped of the agents' data in the last hour: per (key, reason) when it was
 * first and last seen and how many times. Fed by every BadDataLog report, whether the log printed
 * it or not, and read by `/problems` and `zenith doctor`.
 *
 * Bounded whatever the agents write: at most `maxEntries` entries, key and reason cut to a fixed
 * length (own copies, so a 10 MB value a reason was cut from can be freed). When full, the entry
 * seen least recently goes first: the Map is kept in order of last sighting (an entry seen again
 * moves to the end), so that is always the first one. An evicted problem is remembered only by a
 * 53-bit hash and the time, at most `maxCountedEvicted` of them, so the page can say how many
 * problems of the last hour it does not list; one reported again leaves that count and comes back.
 */
import { cutText } from '@gravito/quasar/protocol'
import { textHash } from './text-hash.js'

export interface Problem {
  readonly key: string
  readonly reason: string
  /** epoch ms, console clock */
  readonly firstSeenAt: number
  readonly lastSeenAt: number
  /** reports of this key and reason since the entry was made */
  readonly count: number
}

export interface NotKept {
  /** distinct problems of the last hour evicted to stay within the bound, and not seen since */
  readonly count: number
  /** more were evicted than the record counts: "more than `count`" */
  readonly more: boolean
}

export interface ProblemList {
  /** least recently seen first */
  readonly problems: readonly Problem[]
  readonly notKept: NotKept
}

export interface ProblemRecord {
  add(key: string, reason: string, at: number): void
  /** the problems seen within `windowMs` of `now` */
  list(now: number): ProblemList
  /** bumped on every change, so a rendered page can be reused until the record moves */
  readonly revision: number
  readonly windowMs: number
  readonly maxEntries: number
}

export interface ProblemRecordOptions {
  readonly maxEntries?: number
  readonly windowMs?: number
  readonly maxCountedEvicted?: number
  readonly keyLength?: number
  readonly reasonLength?: number
}

export const PROBLEM_WINDOW_MS = 60 * 60_000
export const MAX_PROBLEMS = 500
export const PROBLEM_KEY_LENGTH = 300
export const PROBLEM_REASON_LENGTH = 500

interface Entry {
  readonly key: string
  readonly reason: string
  readonly firstSeenAt: number
  lastSeenAt: number
  count: number
}

export function createProblemRecord(options: ProblemRecordOptions = {}): ProblemRecord {
  const { maxEntries = MAX_PROBLEMS, windowMs = PROBLEM_WINDOW_MS, maxCountedEvicted = 10_000, keyLength = PROBLEM_KEY_LENGTH, reasonLength = PROBLEM_REASON_LENGTH } = options
  const entries = new Map<string, Entry>()
  /** hash of an evicted problem's identity → when it was last seen; also in order of that time */
  const evicted = new Map<number, number>()
  /** when an evicted problem last went uncounted because `evicted` was full */
  let overflowAt = Number.NEGATIVE_INFINITY
  let revision = 0

  /**
   * Drops what left the window. Both maps are in order of last sighting, so only their heads are
   * looked at. A reader's `now` may be a little behind the last report (a page built from the
   * time its tick started): entries ahead of it stay.
   */
  function expire(now: number): void {
    const oldest = now - windowMs
    for (const [id, entry] of entries) {
      if (entry.lastSeenAt > oldest) break
      entries.delete(id)
      revision++
    }
    for (const [hash, at] of evicted) {
      if (at > oldest) break
      evicted.delete(hash)
    }
  }

  function evictOldest(): void {
    const [id, entry] = entries.entries().next().value as [string, Entry]
    entries.delete(id)
    const hash = textHash(id)
    evicted.delete(hash)
    if (evicted.size < maxCountedEvicted) evicted.set(hash, entry.lastSeenAt)
    else overflowAt = entry.lastSeenAt
  }

  return {
    add(rawKey, rawReason, at) {
      const key = cutText(rawKey, keyLength, '…')
      const reason = cutText(rawReason, reasonLength, '…')
      // NUL cannot be typed into a Redis key by accident; as a separator it keeps ids unambiguous
      const id = `${key}\u0000${reason}`
      revision++
      expire(at)
      const known = entries.get(id)
      if (known) {
        entries.delete(id)
        known.lastSeenAt = at
        known.count++
        entries.set(id, known)
        return
      }
      evicted.delete(textHash(id))
      if (entries.size >= maxEntries) evictOldest()
      entries.set(id, { key, reason, firstSeenAt: at, lastSeenAt: at, count: 1 })
    },
    list(now) {
      expire(now)
      const problems = [...entries.values()].map((entry) => ({ ...entry }))
      return { problems, notKept: { count: evicted.size, more: overflowAt > now - windowMs } }
    },
    get revision() {
      return revision
    },
    windowMs,
    maxEntries,
  }
}
