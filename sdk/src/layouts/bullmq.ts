/**
 * How a BullMQ queue is read and counted: the keys to ask, and what their replies mean. The SDK's
 * probe and the console's discovery both read queues through this file, so the two cannot count
 * one queue two ways. Each read is `{ key, enqueue }`: the caller queues it in its own pipeline
 * (one command each) and hands the replies back to bullmqState under the same names.
 *
 * Counts, in BullMQ's terms (`Queue.getJobCounts`):
 * - `waiting` = `wait` + `prioritized` + the legacy `paused` list: every job a worker has yet to
 *   pick. While the queue is paused (`paused` field in `meta`, what `Queue.isPaused` checks) the
 *   same jobs are counted in `paused` instead, and `waiting` is 0: one job is never counted twice.
 * - `waitingChildren` = `waiting-children`: flow parents held until their children finish; in no
 *   other count.
 * - `active`, `delayed`, `failed`, `completed`: the lists and sets of those names.
 * - `0:…` entries at the tail of `wait` or `paused` are BullMQ 4's markers, not jobs.
 * - `rateLimitedMs`: what `Queue.getRateLimitTtl()` answers, when above 0.
 * - the oldest waiting age: the oldest of the jobs next in line (tail of `wait` and `paused`, head
 *   of `prioritized`), from the job hash's `timestamp` plus `delay` (a delayed job starts waiting
 *   when its delay ends).
 */
import type { ChainableCommander } from 'ioredis'
import type { QueueMetrics } from '../protocol/queues.js'
import { bullmqKeys, type BullmqKeys } from './keys.js'

export const BULLMQ_DEFAULT_PREFIX = 'bull'

export interface Read {
  /** the key the command reads: what an error is reported under */
  readonly key: string
  /** the command and its arguments after the key, for a caller that sends it its own way (the console bounds its replies) */
  readonly command: readonly [name: string, ...args: string[]]
  /** queues exactly one command: `command` on `key` */
  readonly enqueue: (pipeline: ChainableCommander) => unknown
}

/** A read of one key: `name key ...args`. */
export function keyRead(key: string, name: string, ...args: string[]): Read {
  return { key, command: [name, ...args], enqueue: (p) => p.call(name, key, ...args) }
}

/** The replies bullmqState needs, by name, as ioredis returns them. */
export interface BullmqReplies {
  wait: number
  paused: number
  active: number
  prioritized: number
  delayed: number
  failed: number
  completed: number
  waitingChildren: number
  /** HMGET meta: version, opts.maxLenEvents, paused, max */
  meta: (string | null)[]
  limiterValue: string | null
  limiterTtl: number
  waitTail: string | null
  pausedTail: string | null
  prioritizedHead: string[]
  completedTotal: string | null | typeof UNREADABLE
  failedTotal: string | null | typeof UNREADABLE
}

/**
 * Reads a queue can do without: the metrics counters, kept only by workers started with the
 * `metrics` option. One that fails (a key of another type) is handed in as UNREADABLE and leaves
 * `processed` out; any other read that fails makes the queue unreadable.
 */
export const BULLMQ_OPTIONAL_READS: ReadonlySet<string> = new Set(['completedTotal', 'failedTotal'])
export const UNREADABLE = Symbol('unreadable')

export type BullmqReadName = keyof BullmqReplies

/** Every read of one queue's state, one command each, all in one round trip. */
export function bullmqReads(keys: BullmqKeys): Record<BullmqReadName, Read> {
  return {
    wait: keyRead(keys.wait, 'LLEN'),
    paused: keyRead(keys.paused, 'LLEN'),
    active: keyRead(keys.active, 'LLEN'),
    prioritized: keyRead(keys.prioritized, 'ZCARD'),
    delayed: keyRead(keys.delayed, 'ZCARD'),
    failed: keyRead(keys.failed, 'ZCARD'),
    completed: keyRead(keys.completed, 'ZCARD'),
    waitingChildren: keyRead(keys.waitingChildren, 'ZCARD'),
    meta: keyRead(keys.meta, 'HMGET', 'version', 'opts.maxLenEvents', 'paused', 'max'),
    limiterValue: keyRead(keys.limiter, 'GET'),
    limiterTtl: keyRead(keys.limiter, 'PTTL'),
    waitTail: keyRead(keys.wait, 'LINDEX', '-1'),
    pausedTail: keyRead(keys.paused, 'LINDEX', '-1'),
    prioritizedHead: keyRead(keys.prioritized, 'ZRANGE', '0', '0'),
    completedTotal: keyRead(keys.metricsCompleted, 'HGET', 'count'),
    failedTotal: keyRead(keys.metricsFailed, 'HGET', 'count'),
  }
}

/**
 * Reads whose reply is text the queue's writer chose (a version, ids, counters), as opposed to a
 * count: what a reader of keys it does not trust bounds in bytes.
 */
export const BULLMQ_TEXT_READS: ReadonlySet<BullmqReadName> = new Set(['meta', 'limiterValue', 'waitTail', 'pausedTail', 'prioritizedHead', 'completedTotal', 'failedTotal'])

export const BULLMQ_READ_NAMES = Object.keys(bullmqReads(bullmqKeys('p', 'q'))) as BullmqReadName[]

/** the fields of the job hash that date a job in line */
export function bullmqJobAgeRead(keys: BullmqKeys, jobId: string): Read {
  return keyRead(keys.job(jobId), 'HMGET', 'timestamp', 'delay')
}

/**
 * Whether a `…:meta` hash is BullMQ's: any application may own a key ending in `:meta`; BullMQ's
 * carries its version (`bullmq:…`) or its events limit.
 */
export function isBullmqMeta(meta: readonly (string | null)[]): boolean {
  const [version, maxLenEvents] = meta
  return (typeof version === 'string' && version.startsWith('bullmq')) || maxLenEvents != null
}

export interface BullmqState {
  metrics: QueueMetrics
  /** jobs whose hash dates the oldest waiting job (read with bullmqJobAgeRead) */
  nextInLine: string[]
}

export function bullmqState(r: BullmqReplies): BullmqState {
  // BullMQ's own getCounts drops a `0:` marker from `wait` and `paused` the same way
  const wait = r.wait - (isMarker(r.waitTail) && r.wait > 0 ? 1 : 0)
  const pausedList = r.paused - (isMarker(r.pausedTail) && r.paused > 0 ? 1 : 0)
  const held = wait + r.prioritized + pausedList
  const isPaused = r.meta[2] != null
  const processed = processedOf(r.completedTotal, r.failedTotal)
  const ttl = bullmqRateLimitTtl(r.meta[3] ?? null, r.limiterValue, r.limiterTtl)
  const metrics: QueueMetrics = {
    waiting: isPaused ? 0 : held,
    active: r.active,
    delayed: r.delayed,
    failed: r.failed,
    completed: r.completed,
    paused: isPaused ? held : 0,
    isPaused,
    waitingChildren: r.waitingChildren,
    ...(ttl > 0 ? { rateLimitedMs: ttl } : {}),
    ...(processed === undefined ? {} : { processed }),
  }
  const nextInLine = held === 0 ? [] : [r.waitTail, r.pausedTail, ...r.prioritizedHead].filter((id): id is string => typeof id === 'string' && id !== '' && !isMarker(id))
  return { metrics, nextInLine }
}

/**
 * BullMQ's getRateLimitTtl without an argument: with a queue-wide maximum (`max` in meta, set by
 * `setGlobalRateLimit`) the limiter's PTTL once its counter reached it, else 0; without one, the
 * limiter key's PTTL as it is (negative when the key is absent or has no expiry).
 */
export function bullmqRateLimitTtl(max: string | null, counter: string | null, pttl: number): number {
  if (max === null) return pttl
  const limit = Number(max)
  if (Number.isFinite(limit) && limit <= Number(counter ?? 0) && pttl > 0) return pttl
  return 0
}

/** When a job in line started waiting (epoch ms), from HMGET timestamp delay; undefined when unknown. */
export function bullmqWaitingSince(fields: readonly (string | null)[]): number | undefined {
  const created = Number(fields[0])
  const delay = Number(fields[1])
  // a job gone between the two reads answers nulls, which read as 0
  if (fields[0] == null || !Number.isFinite(created) || created <= 0) return undefined
  return created + (Number.isFinite(delay) && delay > 0 ? delay : 0)
}

/** The age of the oldest of these jobs at `now`; undefined when none is dated. */
export function oldestWaitingMs(since: readonly (number | undefined)[], now: number): number | undefined {
  let oldest: number | undefined
  for (const at of since) {
    if (at === undefined) continue
    const age = Math.max(0, now - at)
    oldest = oldest === undefined ? age : Math.max(oldest, age)
  }
  return oldest
}

function isMarker(id: unknown): boolean {
  return typeof id === 'string' && id.startsWith('0:')
}

/**
 * Completed plus failed from the metrics counters (kept by workers started with the `metrics`
 * option); one alone still counts. A counter that is not a count leaves the figure out: the other
 * counts stand without it.
 */
function processedOf(completed: string | null | typeof UNREADABLE, failed: string | null | typeof UNREADABLE): number | undefined {
  let sum = 0
  let seen = false
  for (const total of [completed, failed]) {
    if (total === UNREADABLE) return undefined
    if (total === null || total === undefined) continue
    const count = Number(total)
    if (!Number.isSafeInteger(count) || count < 0) return undefined
    sum += count
    seen = true
  }
  return seen ? sum : undefined
}
