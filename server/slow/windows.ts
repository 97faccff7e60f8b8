/**
 * Time windows over the slow aggregates (`/slow?range=`): which stored buckets make up a window,
 * and how their counts merge into groups. Pure functions: no Redis, no clock.
 *
 * A window covers [the first 5-minute boundary at or after now − range, now]: whole hours from
 * hour buckets, the partial hours at both ends from 5-minute buckets, so the last 7 days take at
 * most about 190 buckets per service and the window's start is exact to 5 minutes.
 */
import { histogramPercentile } from './histogram.js'

export const SLOW_RANGES = ['1h', '6h', '24h', '7d'] as const
export type SlowRange = (typeof SLOW_RANGES)[number]
export const DEFAULT_SLOW_RANGE: SlowRange = '24h'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
export const FIVE_MINUTES = 5 * MINUTE
export const RANGE_MS: Record<SlowRange, number> = { '1h': HOUR, '6h': 6 * HOUR, '24h': 24 * HOUR, '7d': 7 * 24 * HOUR }
export const RANGE_LABELS: Record<SlowRange, string> = { '1h': '1 hour', '6h': '6 hours', '24h': '24 hours', '7d': '7 days' }
/** entries older than the longest window are not folded; buckets live a day longer than it */
export const RETENTION_MS = RANGE_MS['7d']
export const AGGREGATE_TTL_MS = RETENTION_MS + 24 * HOUR

export type Resolution = '5m' | '1h'
export interface BucketRef {
  readonly resolution: Resolution
  readonly start: number
}

/** a bucket of a plan, with its id (`5m:<start>`) built once rather than on every lookup */
export interface PlannedBucket extends BucketRef {
  readonly id: string
}

export function bucketId(bucket: BucketRef): string {
  return `${bucket.resolution}:${bucket.start}`
}

export function bucketStart(resolution: Resolution, at: number): number {
  const size = resolution === '5m' ? FIVE_MINUTES : HOUR
  return Math.floor(at / size) * size
}

/** The buckets that make up `range` at `now`, oldest first, and the window's start. */
export function windowPlan(range: SlowRange, now: number): { from: number; buckets: PlannedBucket[] } {
  const from = Math.ceil((now - RANGE_MS[range]) / FIVE_MINUTES) * FIVE_MINUTES
  const firstHour = Math.ceil(from / HOUR) * HOUR
  const currentHour = bucketStart('1h', now)
  const buckets: PlannedBucket[] = []
  const fives = (start: number, end: number) => {
    for (let t = start; t < end; t += FIVE_MINUTES) buckets.push({ resolution: '5m', start: t, id: `5m:${t}` })
  }
  if (firstHour >= currentHour) {
    fives(from, now + 1)
  } else {
    fives(from, firstHour)
    for (let t = firstHour; t < currentHour; t += HOUR) buckets.push({ resolution: '1h', start: t, id: `1h:${t}` })
    fives(currentHour, now + 1)
  }
  return { from, buckets }
}

/** One (kind, name)'s counts in one bucket. */
export interface NameCounts {
  count: number
  maxMs: number
  lastSeenAt: number
  /** histogram index → count */
  histogram: Map<number, number>
}

export interface BucketContents {
  readonly names: ReadonlyMap<string, NameCounts>
  /** entries not counted because the bucket already held its cap of names */
  readonly dropped: number
}

export const EMPTY_BUCKET: BucketContents = { names: new Map(), dropped: 0 }

/** A bucket hash as HGETALL returns it. Fields it does not know are ignored, bad numbers read 0. */
export function parseBucket(hash: Record<string, string>): BucketContents {
  const names = new Map<string, NameCounts>()
  let dropped = 0
  for (const [field, value] of Object.entries(hash)) {
    if (field === '#dropped') {
      dropped = finite(value)
      continue
    }
    const bar = field.lastIndexOf('|')
    if (bar <= 0 || field.startsWith('#')) continue
    const base = field.slice(0, bar)
    const suffix = field.slice(bar + 1)
    let counts = names.get(base)
    if (!counts) names.set(base, (counts = { count: 0, maxMs: 0, lastSeenAt: 0, histogram: new Map() }))
    if (suffix === 'n') counts.count = finite(value)
    else if (suffix === 'x') counts.maxMs = finite(value)
    else if (suffix === 't') counts.lastSeenAt = finite(value)
    else if (suffix.startsWith('h')) counts.histogram.set(Number(suffix.slice(1)), finite(value))
  }
  // a name the cap turned away leaves no `|n`: it was not counted here
  for (const [base, counts] of names) if (counts.count === 0) names.delete(base)
  return { names, dropped }
}

function finite(value: string): number {
  const n = Number(value)
  return Number.isFinite(n) && n >= 0 ? n : 0
}

export interface WindowGroup {
  service: string
  kind: 'request' | 'job'
  name: string
  count: number
  p50Ms: number
  p95Ms: number
  maxMs: number
  lastSeenAt: number
}

export interface SlowWindow {
  readonly range: SlowRange
  readonly from: number
  readonly to: number
  /** slowest p95 first */
  readonly groups: readonly WindowGroup[]
  /** entries not counted because a bucket held its cap of names */
  readonly dropped: number
  /** buckets of the window not read yet (the first ticks after a start); its counts may be short */
  readonly missing: number
}

/** Merges the buckets of a window, every service: `read(service, bucket)` gives a bucket or null when not read yet. */
export function mergeWindow(range: SlowRange, now: number, services: readonly string[], read: (service: string, bucket: PlannedBucket) => BucketContents | null): SlowWindow {
  const { from, buckets } = windowPlan(range, now)
  const merged = new Map<string, NameCounts & { service: string; base: string }>()
  let dropped = 0
  let missing = 0
  for (const service of services) {
    for (const bucket of buckets) {
      const contents = read(service, bucket)
      if (!contents) {
        missing++
        continue
      }
      dropped += contents.dropped
      for (const [base, counts] of contents.names) {
        const key = `${service}\u0000${base}`
        let into = merged.get(key)
        if (!into) merged.set(key, (into = { service, base, count: 0, maxMs: 0, lastSeenAt: 0, histogram: new Map() }))
        into.count += counts.count
        into.maxMs = Math.max(into.maxMs, counts.maxMs)
        into.lastSeenAt = Math.max(into.lastSeenAt, counts.lastSeenAt)
        for (const [index, n] of counts.histogram) into.histogram.set(index, (into.histogram.get(index) ?? 0) + n)
      }
    }
  }
  const groups: WindowGroup[] = []
  for (const entry of merged.values()) {
    const bar = entry.base.indexOf('|')
    const kind = entry.base.slice(0, bar)
    if (kind !== 'request' && kind !== 'job') continue
    groups.push({
      service: entry.service,
      kind,
      name: entry.base.slice(bar + 1),
      count: entry.count,
      p50Ms: histogramPercentile(entry.histogram, 50, entry.maxMs),
      p95Ms: histogramPercentile(entry.histogram, 95, entry.maxMs),
      maxMs: entry.maxMs,
      lastSeenAt: entry.lastSeenAt,
    })
  }
  groups.sort((a, b) => b.p95Ms - a.p95Ms || b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.service < b.service ? -1 : 1))
  return { range, from, to: now, groups, dropped, missing }
}
