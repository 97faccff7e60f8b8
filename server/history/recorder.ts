/**
 * Records history from each snapshot (a collector listener). Per series it writes one sample per
 * new 10 s bucket, all series in one pipeline per tick, and keeps the last RECENT_SAMPLES in memory
 * for sparklines, so a viewer's poll costs no Redis command. A series seen for the first time (at
 * start, or a new node) has its recent samples read back from Redis in the same round trip, so a
 * restart keeps the sparklines.
 *
 * With several replicas, the one holding the writer lease (lease-script.ts) writes; the others keep
 * their rings from their own ticks and write nothing. A replica that takes the lease over writes
 * what its ring holds since the old holder was last seen alive, so samples the old holder never
 * wrote (it died, or stalled) are still stored once. A replica whose tick is incomplete (a part or
 * an adapter failed) neither claims nor renews the lease and writes what it has, as a lone console
 * would: its gaps are never the only record, and a healthy replica takes the lease over.
 *
 * Monitoring must never break the console: nothing here throws into the collector, nothing is
 * written while the snapshot says Redis is down, and a failed write is logged once per outage.
 */
import type { FastifyBaseLogger } from 'fastify'
import { DEAD_AFTER_MS } from '../collector/health.js'
import type { Snapshot } from '../collector/snapshot.js'
import type { RowAdapter } from './adapters.js'
import { decodeRaw, encodeSample } from './encoding.js'
import { bucketOf, METRICS, RAW, RECENT_SAMPLES, type SeriesKind } from './metrics.js'
import { RecentRing, type RecentPoint } from './recent-ring.js'
import type { HistoryStore, SampleWrite, SeriesRef, StoredBucket } from './store.js'

export type { RecentPoint } from './recent-ring.js'

/** An agent clock this far ahead still has its beats bucketed by their own time. */
const MAX_AHEAD_MS = 60_000
/**
 * Series whose recent samples are read back per tick. At start every series is new; reading them
 * all at once (10 k nodes × 30 samples) would hold the first tick for seconds, so they are read a
 * batch per tick instead (10 k nodes: 40 s), each showing what it has meanwhile.
 */
const FILLS_PER_TICK = 500

const NO_SAMPLES = { node: RecentRing.empty(METRICS.node.length), queue: RecentRing.empty(METRICS.queue.length) }

interface SeriesState {
  readonly ref: SeriesRef
  lastBucket: number
  ring: RecentRing
  filled: boolean
}

export interface RecorderStats {
  /** the writer lease at the last tick with samples: this replica's, another's, or not claimed (alone, or a degraded tick) */
  lease: 'held' | 'other' | 'unclaimed'
  /** samples sent by the last write and how many were new (another replica may have been first) */
  samples: number
  written: number
  fills: number
  durationMs: number
}

export interface HistoryRecorder {
  /** the collector listener; resolves once this tick's write is done, never rejects */
  record(snapshot: Snapshot): Promise<void>
  /** stops claiming the writer lease and hands it over if held; never rejects */
  close(): Promise<void>
  /** the last samples of one series, oldest first; a new ring object whenever they change */
  recent(kind: SeriesKind, service: string, id: string): RecentRing
  readonly stats: RecorderStats
}

export interface RecorderOptions {
  store: HistoryStore
  adapters: readonly RowAdapter[]
  log: FastifyBaseLogger
  /** wall time for measuring writes (not the snapshot clock, which tests move by hand) */
  now?: () => number
  /** share the writes with other replicas through the writer lease; without it every sample is written */
  lease?: WriterLeaseOptions
}

export interface WriterLeaseOptions {
  /** this console among its replicas (runtime/replica-name.ts) */
  readonly replica: string
  /** how long a claim holds without renewal, in the snapshot clock; a few ticks */
  readonly leaseMs: number
}

export function createHistoryRecorder(options: RecorderOptions): HistoryRecorder {
  const { store, adapters, log } = options
  const timer = options.now ?? (() => performance.now())
  const series = new Map<string, SeriesState>()
  let failing = false
  const stats: RecorderStats = { lease: 'unclaimed', samples: 0, written: 0, fills: 0, durationMs: 0 }
  const lease = options.lease
  /** when this replica last held the lease (its renewal is due half-way) */
  let heldAt: number | null = null
  /** the last tick at which another replica held the lease: samples since then may be unwritten */
  let standbySince: number | null = null
  let closed = false

  function collect(snapshot: Snapshot): { writes: SampleWrite[]; fills: SeriesState[]; complete: boolean } {
    const now = snapshot.generatedAt
    const seen = new Set<string>()
    const writes: SampleWrite[] = []
    const fills: SeriesState[] = []
    let complete = true
    for (const adapter of adapters) {
      let rows
      try {
        rows = adapter(snapshot)
      } catch (error) {
        complete = false
        log.error({ err: error }, 'history adapter failed')
        continue
      }
      for (const row of rows) {
        const id = seriesId(row.kind, row.service, row.id)
        seen.add(id)
        let state = series.get(id)
        if (!state) {
          state = { ref: { kind: row.kind, service: row.service, id: row.id }, lastBucket: -Infinity, ring: NO_SAMPLES[row.kind], filled: false }
          series.set(id, state)
        }
        if (!state.filled && fills.length < FILLS_PER_TICK) fills.push(state)
        // a beat older than this is a dead node's last one: already recorded, or not worth it
        if (row.t < now - DEAD_AFTER_MS) continue
        const bucket = bucketOf(row.t <= now + MAX_AHEAD_MS ? row.t : now, RAW.bucketMs)
        if (bucket <= state.lastBucket) continue
        state.lastBucket = bucket
        state.ring = state.ring.with([{ t: bucket, values: row.values }])
        writes.push({ ...state.ref, bucket, value: encodeSample(row.kind, row.values) })
      }
    }
    // series gone from the snapshot (a node past its grace period) are forgotten; their Redis
    // history expires on its own
    if (complete) {
      for (const id of series.keys()) if (!seen.has(id)) series.delete(id)
    }
    return { writes, fills, complete }
  }

  /** every sample in the rings from `since` on, oldest first per series (the rollups fold in order) */
  function ringWrites(since: number): SampleWrite[] {
    const writes: SampleWrite[] = []
    for (const state of series.values()) {
      for (const point of state.ring.points()) {
        if (point.t >= since) writes.push({ ...state.ref, bucket: point.t, value: encodeSample(state.ref.kind, point.values) })
      }
    }
    return writes
  }

  /**
   * What this tick writes, after asking for the lease when there is something to write or its
   * renewal is due. A failed claim writes everything: Redis decides, as without a lease.
   */
  async function share(snapshot: Snapshot, writes: SampleWrite[], complete: boolean): Promise<SampleWrite[]> {
    const now = snapshot.generatedAt
    const healthy = complete && Object.values(snapshot.parts).every((part) => part.ok)
    const renewalDue = heldAt !== null && (now - heldAt >= lease!.leaseMs / 2 || now < heldAt)
    if (!lease || !healthy || closed || (writes.length === 0 && !renewalDue)) {
      if (writes.length > 0) stats.lease = 'unclaimed'
      return writes
    }
    let held: boolean
    try {
      held = await store.claimWriter(lease.replica, now, lease.leaseMs)
    } catch {
      stats.lease = 'unclaimed'
      return writes
    }
    if (!held) {
      heldAt = null
      standbySince = now
      stats.lease = 'other'
      return []
    }
    heldAt = now
    stats.lease = 'held'
    if (standbySince === null) return writes
    // taken over: the old holder renewed at most leaseMs before it was last seen holding
    const since = bucketOf(standbySince - lease.leaseMs, RAW.bucketMs)
    standbySince = null
    return ringWrites(since)
  }

  function fromStore(kind: SeriesKind, buckets: readonly StoredBucket[]): RecentPoint[] {
    const points: RecentPoint[] = []
    for (const bucket of buckets) {
      const values = decodeRaw(kind, bucket.value)
      if (values) points.push({ t: bucket.t, values })
    }
    return points
  }

  async function record(snapshot: Snapshot): Promise<void> {
    // no new data was read, and a write would only fail
    if (!snapshot.redis.up) return
    let work: ReturnType<typeof collect>
    try {
      // synchronous, before any await: a page rendered for this snapshot sees this tick's samples
      work = collect(snapshot)
    } catch (error) {
      log.error({ err: error }, 'history recording failed')
      return
    }
    const { fills, complete } = work
    let writes: SampleWrite[]
    try {
      writes = await share(snapshot, work.writes, complete)
    } catch (error) {
      log.error({ err: error }, 'history recording failed')
      return
    }
    if (stats.lease === 'other') Object.assign(stats, { samples: 0, written: 0 })
    if (writes.length === 0 && fills.length === 0) return
    const started = timer()
    try {
      const result = await store.sync(
        writes,
        fills.map((state) => state.ref),
        snapshot.generatedAt,
        RECENT_SAMPLES,
      )
      fills.forEach((state, i) => {
        state.filled = true
        state.ring = state.ring.with(fromStore(state.ref.kind, result.fills[i] ?? []))
      })
      Object.assign(stats, { samples: writes.length, written: result.written, fills: fills.length, durationMs: timer() - started })
      log.debug({ ...stats }, 'history written')
      if (failing) log.info('history writes resumed')
      failing = false
    } catch (error) {
      if (!failing) log.warn({ err: error instanceof Error ? error.message : String(error) }, 'history write failed; samples of this tick are lost')
      failing = true
    }
  }

  return {
    record,
    async close() {
      closed = true
      if (!lease || heldAt === null) return
      heldAt = null
      // handed over now rather than when it runs out; a failure leaves it to run out
      await store.releaseWriter(lease.replica).catch(() => {})
    },
    recent: (kind, service, id) => series.get(seriesId(kind, service, id))?.ring ?? NO_SAMPLES[kind],
    stats,
  }
}

function seriesId(kind: SeriesKind, service: string, id: string): string {
  // names cannot contain ':' (protocol rule), so the id is unambiguous
  return `${kind}:${service}:${id}`
}
