/**
 * The slow part's windows: folds every entry the part reads into stored 5-minute and hourly
 * buckets (fold-script.ts: once per entry across replicas and restarts), and keeps the buckets the
 * windows need in memory, so a viewer's poll costs no Redis command and a window counts everything
 * stored for it, not only the entries still in the streams.
 *
 * Bounded per tick: entries waiting to be folded are capped (the oldest go first, counted), and at
 * most `readsPerTick` buckets are read. Which buckets are read: the open ones (the current 5 minutes
 * and hour, and those just closed, which late entries and other replicas still change) every
 * `openEveryMs`, then those never read, then closed ones older than `closedEveryMs`, oldest first,
 * so a fold by another replica into a closed bucket shows within that time.
 */
import type { SlowEntryRecord } from './collector-part.js'
import type { FoldEntry } from './fold-script.js'
import { histogramIndex } from './histogram.js'
import type { SlowAggregateStore } from './store.js'
import {
  AGGREGATE_TTL_MS,
  bucketId,
  bucketStart,
  type PlannedBucket,
  EMPTY_BUCKET,
  mergeWindow,
  RETENTION_MS,
  SLOW_RANGES,
  windowPlan,
  type BucketContents,
  type BucketRef,
  type SlowRange,
  type SlowWindow,
} from './windows.js'

export interface AggregateLimits {
  /** distinct (kind, name) per bucket; entries of further names are counted as dropped */
  readonly namesPerBucket: number
  /** entries waiting to be folded, every service together */
  readonly pendingEntries: number
  readonly readsPerTick: number
  readonly openEveryMs: number
  readonly closedEveryMs: number
}

export const DEFAULT_AGGREGATE_LIMITS: AggregateLimits = { namesPerBucket: 200, pendingEntries: 20_000, readsPerTick: 2_000, openEveryMs: 4_000, closedEveryMs: 10 * 60_000 }

/** an entry stamped this far ahead of the console's clock is not folded (reported as bad data) */
const MAX_AHEAD_MS = 60_000
/** a bucket this long past its end may still change (late entries, a replica's lag) */
const SETTLE_MS = 2 * 60_000

interface Cached {
  contents: BucketContents
  readAt: number
}

export interface SlowWindows {
  readonly windows: Readonly<Record<SlowRange, SlowWindow>>
  /** entries never folded because too many waited (a Redis outage) */
  readonly unfolded: number
}

export function createSlowAggregates(store: SlowAggregateStore, report: (key: string, reason: string) => void, limits: AggregateLimits = DEFAULT_AGGREGATE_LIMITS) {
  const pending: SlowEntryRecord[] = []
  /** service → bucket id → what was read */
  const cache = new Map<string, Map<string, Cached>>()
  let unfolded = 0
  let changed = true
  let current: SlowWindows | null = null
  let lastPlanAt = -1

  /** entries read this tick, any order; folded at the next `tick` */
  function add(entries: readonly SlowEntryRecord[]): void {
    pending.push(...entries)
    if (pending.length > limits.pendingEntries) {
      const excess = pending.length - limits.pendingEntries
      pending.splice(0, excess)
      unfolded += excess
      changed = true
    }
  }

  async function fold(now: number): Promise<void> {
    if (pending.length === 0) return
    const byService = new Map<string, FoldEntry[]>()
    // oldest first whatever order the reads came in (a backfill reads newest first), so a bucket's
    // cap of names keeps the names that came first
    for (const entry of [...pending].sort(byStreamId)) {
      if (entry.timestamp < now - RETENTION_MS) continue
      if (entry.timestamp > now + MAX_AHEAD_MS) {
        report(store.streamKey(entry.service) + ' ' + entry.id, `timestamp ${entry.timestamp} is ahead of the console's clock: not counted in the windows`)
        continue
      }
      const list = byService.get(entry.service) ?? []
      list.push({
        id: entry.id,
        fiveMinuteKey: store.bucketKey(entry.service, { resolution: '5m', start: bucketStart('5m', entry.timestamp) }),
        hourKey: store.bucketKey(entry.service, { resolution: '1h', start: bucketStart('1h', entry.timestamp) }),
        base: `${entry.kind}|${entry.name}`,
        durationMs: entry.durationMs,
        histogramIndex: histogramIndex(entry.durationMs),
        timestamp: entry.timestamp,
      })
      byService.set(entry.service, list)
    }
    // throws when Redis does not answer: the entries stay pending for the next tick
    const results = await store.fold(
      [...byService].map(([service, entries]) => ({ service, entries })),
      { ttlMs: AGGREGATE_TTL_MS, maxNames: limits.namesPerBucket },
    )
    pending.length = 0
    for (const result of results) {
      if (!result.reply.ok) {
        report(store.streamKey(result.service), `folding into the windows failed: ${result.reply.error.message}`)
        continue
      }
      // what this console just folded is re-read at once, even a bucket already closed
      const buckets = cache.get(result.service)
      for (const entry of result.entries) {
        buckets?.delete(bucketId({ resolution: '5m', start: bucketStart('5m', entry.timestamp) }))
        buckets?.delete(bucketId({ resolution: '1h', start: bucketStart('1h', entry.timestamp) }))
      }
    }
  }

  /** the buckets any window needs at `now`, by id (`5m:<start>`); recomputed once per 5 minutes */
  let plan: { at: number; refs: Map<string, BucketRef> } = { at: -1, refs: new Map() }
  function planAt(now: number): Map<string, BucketRef> {
    const at = bucketStart('5m', now)
    if (plan.at === at && at !== now) return plan.refs
    const refs = new Map<string, BucketRef>()
    for (const range of SLOW_RANGES) for (const bucket of windowPlan(range, now).buckets) refs.set(bucketId(bucket), bucket)
    plan = { at, refs }
    // forget buckets no window needs any more (older than 7 days) and services gone
    for (const buckets of cache.values()) for (const id of buckets.keys()) if (!refs.has(id)) buckets.delete(id)
    return refs
  }

  /** the buckets due for a read, most urgent first (see the header) */
  function wanted(services: readonly string[], now: number): { service: string; bucket: BucketRef; priority: number; readAt: number }[] {
    const refs = planAt(now)
    const out = []
    for (const service of services) {
      const buckets = cache.get(service)
      for (const [id, bucket] of refs) {
        const cached = buckets?.get(id)
        const end = bucket.start + (bucket.resolution === '5m' ? 5 * 60_000 : 60 * 60_000)
        const open = end + SETTLE_MS > now
        if (!cached) out.push({ service, bucket, priority: open ? 0 : 1, readAt: -1 })
        else if (open && now - cached.readAt >= limits.openEveryMs) out.push({ service, bucket, priority: 0, readAt: cached.readAt })
        else if (now - cached.readAt >= limits.closedEveryMs) out.push({ service, bucket, priority: 2, readAt: cached.readAt })
      }
    }
    return out.sort((a, b) => a.priority - b.priority || a.readAt - b.readAt)
  }

  async function refresh(services: readonly string[], now: number): Promise<void> {
    const listed = new Set(services)
    for (const service of cache.keys()) if (!listed.has(service)) cache.delete(service)
    const reads = wanted(services, now).slice(0, limits.readsPerTick)
    if (reads.length === 0) return
    const replies = await store.readBuckets(reads.map((read) => store.bucketKey(read.service, read.bucket)))
    reads.forEach((read, i) => {
      const contents = replies[i] ?? EMPTY_BUCKET
      let buckets = cache.get(read.service)
      if (!buckets) cache.set(read.service, (buckets = new Map<string, Cached>()))
      const id = bucketId(read.bucket)
      const before = buckets.get(id)?.contents
      if (!before || !sameBucket(before, contents)) changed = true
      buckets.set(id, { contents, readAt: now })
    })
  }

  /** folds what waits, reads the buckets due, and answers the windows (a new object only when they change) */
  async function tick(services: readonly string[], now: number): Promise<SlowWindows> {
    await fold(now)
    await refresh(services, now)
    // the plans move with each 5-minute boundary, and "to" with every tick
    const planAt = Math.floor(now / (5 * 60_000))
    if (planAt !== lastPlanAt) changed = true
    lastPlanAt = planAt
    if (changed || !current) {
      const read = (service: string, bucket: PlannedBucket) => cache.get(service)?.get(bucket.id)?.contents ?? null
      const windows = Object.fromEntries(SLOW_RANGES.map((range) => [range, mergeWindow(range, now, services, read)])) as Record<SlowRange, SlowWindow>
      current = { windows, unfolded }
      changed = false
    }
    return current
  }

  return { add, tick }
}

function byStreamId(a: SlowEntryRecord, b: SlowEntryRecord): number {
  const [aMs = 0, aSeq = 0] = a.id.split('-').map(Number)
  const [bMs = 0, bSeq = 0] = b.id.split('-').map(Number)
  return aMs - bMs || aSeq - bSeq
}

function sameBucket(a: BucketContents, b: BucketContents): boolean {
  if (a.dropped !== b.dropped || a.names.size !== b.names.size) return false
  for (const [base, counts] of a.names) {
    const other = b.names.get(base)
    if (!other || other.count !== counts.count || other.maxMs !== counts.maxMs || other.lastSeenAt !== counts.lastSeenAt) return false
  }
  return true
}

export function emptyWindows(now: number): SlowWindows {
  const windows = Object.fromEntries(SLOW_RANGES.map((range) => [range, mergeWindow(range, now, [], () => null)])) as Record<SlowRange, SlowWindow>
  return { windows, unfolded: 0 }
}
