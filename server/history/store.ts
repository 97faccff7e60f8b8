/**
 * History in Redis: writes (through the rollup script) and reads. A series' buckets are spread over
 * chunk keys of 120 buckets each (see metrics.ts); a write touches its chunk, a read asks for the
 * chunks covering its window, so both stay bounded whatever the retention holds.
 */
import type { ChainableCommander, Result } from 'ioredis'
import type { RedisClient } from '../redis/client.js'
import type { ConsoleKeys } from '../redis/keys.js'
import { bucketOf, RAW, ROLLUPS, TEN_MINUTES, type Resolution, type SeriesKind } from './metrics.js'
import { WRITE_SCRIPT } from './rollup-script.js'
import { CLAIM_SCRIPT, RELEASE_SCRIPT } from './lease-script.js'
import { sliceTimer } from '../runtime/slices.js'
import type { Slot } from '../redis/batch.js'
import { pipelineBySlot, type SlotGroupedBatch } from '../redis/shards.js'
import { valueOf } from '../redis/key-errors.js'

/** commands per pipeline: a pipeline is built and written in one synchronous stretch */
const PIPELINE_COMMANDS = 2_000

declare module 'ioredis' {
  interface RedisCommander<Context> {
    zenithHistoryWrite(...args: (string | number)[]): Result<number, Context>
    zenithHistoryClaim(key: string, replica: string, now: number, leaseMs: number): Result<number, Context>
    zenithHistoryRelease(key: string, replica: string): Result<number, Context>
  }
}

export interface SeriesRef {
  readonly kind: SeriesKind
  readonly service: string
  /** node id or queue name */
  readonly id: string
}

export interface SampleWrite extends SeriesRef {
  /** raw bucket start, epoch ms */
  readonly bucket: number
  /** encodeSample output */
  readonly value: string
}

/** One stored bucket, still encoded: raw sample or rollup, as its resolution says. */
export interface StoredBucket {
  readonly t: number
  readonly value: string
}

/** The raw samples asked for by `recent` lookups, per series, oldest first. */
export type RecentFill = StoredBucket[]

export interface HistoryStore {
  /**
   * One round trip: reads the last `count` raw buckets before `now` for each series in `fills`,
   * then writes every sample. Resolves with the fills in order and how many samples were new.
   */
  sync(writes: readonly SampleWrite[], fills: readonly SeriesRef[], now: number, count: number): Promise<{ fills: RecentFill[]; written: number }>
  /** the buckets of one resolution overlapping (from, to], oldest first */
  read(ref: SeriesRef, resolution: Resolution, from: number, to: number): Promise<StoredBucket[]>
  /** whether any history of the series is still kept */
  exists(ref: SeriesRef, now: number): Promise<boolean>
  /** takes or renews the writer lease (lease-script.ts) until `now + leaseMs`; false while another replica holds it */
  claimWriter(replica: string, now: number, leaseMs: number): Promise<boolean>
  /** ends the lease if `replica` holds it, so another replica takes over at its next tick */
  releaseWriter(replica: string): Promise<void>
}

export function createHistoryStore(redis: RedisClient, keys: ConsoleKeys, options: { sliceMs?: number } = {}): HistoryStore {
  // ioredis sends EVAL once per connection, then EVALSHA, and reloads after a NOSCRIPT
  redis.defineCommand('zenithHistoryWrite', { numberOfKeys: 6, lua: WRITE_SCRIPT })
  redis.defineCommand('zenithHistoryClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT })
  redis.defineCommand('zenithHistoryRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT })

  function keyOf(ref: SeriesRef, resolution: Resolution, t: number): string {
    const chunk = bucketOf(t, resolution.chunkMs)
    return ref.kind === 'node' ? keys.nodeHistory(ref.service, ref.id, resolution.name, chunk) : keys.queueHistory(ref.service, ref.id, resolution.name, chunk)
  }

  /** the chunk key past retention for a write at `bucket`: every chunk ending before it is gone */
  function expiredKey(ref: SeriesRef, resolution: Resolution, bucket: number): string {
    return keyOf(ref, resolution, bucketOf(bucket - resolution.retentionMs, resolution.chunkMs) - resolution.chunkMs)
  }

  /** how long a chunk must live so its last bucket is kept for the whole retention */
  function ttlOf(resolution: Resolution, bucket: number): number {
    return bucketOf(bucket, resolution.chunkMs) + resolution.chunkMs + resolution.retentionMs - bucket
  }

  function queueWrite(pipeline: ChainableCommander, sample: SampleWrite): void {
    const [minute, tenMinutes] = ROLLUPS
    const args: (string | number)[] = [keyOf(sample, RAW, sample.bucket), expiredKey(sample, RAW, sample.bucket)]
    for (const rollup of ROLLUPS) args.push(keyOf(sample, rollup, sample.bucket), expiredKey(sample, rollup, sample.bucket))
    args.push(sample.bucket, sample.value)
    for (const rollup of [minute, tenMinutes]) {
      const start = bucketOf(sample.bucket, rollup.bucketMs)
      args.push(start, (sample.bucket - start) / RAW.bucketMs)
    }
    args.push(ttlOf(RAW, sample.bucket), ttlOf(minute, sample.bucket), ttlOf(tenMinutes, sample.bucket))
    pipeline.zenithHistoryWrite(...args)
  }

  /** HMGET per chunk for the raw buckets in (now - count buckets, now]: each chunk's buckets beside their reply */
  function queueFill(batch: SlotGroupedBatch, ref: SeriesRef, now: number, count: number): { buckets: number[]; values: Slot<(string | null)[]> }[] {
    const newest = bucketOf(now, RAW.bucketMs)
    const byChunk = new Map<string, number[]>()
    for (let i = count - 1; i >= 0; i--) {
      const t = newest - i * RAW.bucketMs
      const key = keyOf(ref, RAW, t)
      let fields = byChunk.get(key)
      if (!fields) byChunk.set(key, (fields = []))
      fields.push(t)
    }
    return [...byChunk].map(([key, buckets]) => ({ buckets, values: batch.add(key, (p) => p.hmget(key, ...buckets.map(String))) }))
  }

  return {
    async sync(writes, fills, now, count) {
      if (writes.length === 0 && fills.length === 0) return { fills: [], written: 0 }
      // fills first, then writes, in batches of at most PIPELINE_COMMANDS: each is built and
      // sent in one synchronous stretch, and the loop is handed back between them
      // a series' keys share a hash tag: one slot per series, grouped by slot on a Cluster
      let batch = pipelineBySlot(redis)
      const filling = fills.map((ref) => queueFill(batch, ref, now, count))
      const writing: Slot<number>[] = []
      const sent: Promise<void>[] = []
      const send = () => {
        const done = batch.exec()
        // awaited below with the others; until then a failure must not count as unhandled
        done.catch(() => {})
        sent.push(done)
      }
      const slice = sliceTimer(options.sliceMs)
      for (const sample of writes) {
        if (batch.size >= PIPELINE_COMMANDS) {
          send()
          if (slice.due()) await slice.pause()
          batch = pipelineBySlot(redis)
        }
        writing.push(batch.add(keyOf(sample, RAW, sample.bucket), (p) => queueWrite(p, sample)))
      }
      send()
      await Promise.all(sent)
      // history keys are the console's own: any error reply is a fault, not bad agent data
      const filled = filling.map((chunks) => {
        const found: StoredBucket[] = []
        for (const { buckets, values } of chunks) {
          const read = valueOf(values)
          buckets.forEach((t, i) => {
            const value = read[i]
            if (typeof value === 'string') found.push({ t, value })
          })
        }
        return found
      })
      const written = writing.filter((slot) => Number(valueOf(slot)) === 1).length
      return { fills: filled, written }
    },

    async read(ref, resolution, from, to) {
      const batch = pipelineBySlot(redis)
      const chunks: Slot<Record<string, string>>[] = []
      for (let chunk = bucketOf(from - resolution.bucketMs, resolution.chunkMs); chunk <= to; chunk += resolution.chunkMs) {
        const key = keyOf(ref, resolution, chunk)
        chunks.push(batch.add(key, (p) => p.hgetall(key)))
      }
      await batch.exec()
      const buckets: StoredBucket[] = []
      for (const slot of chunks) {
        for (const [field, text] of Object.entries(valueOf(slot))) {
          // fields are bucket starts this console wrote; anything else is skipped, not trusted
          if (!/^\d{1,15}$/.test(field)) continue
          const t = Number(field)
          // a bucket belongs to the window when any part of it does
          if (t + resolution.bucketMs > from && t <= to) buckets.push({ t, value: text })
        }
      }
      return buckets.sort((a, b) => a.t - b.t)
    },

    async exists(ref, now) {
      // every sample reaches the 10 min rollup, whose chunks cover the longest retention
      const chunks: string[] = []
      for (let chunk = bucketOf(now - TEN_MINUTES.retentionMs, TEN_MINUTES.chunkMs); chunk <= now; chunk += TEN_MINUTES.chunkMs) {
        chunks.push(keyOf(ref, TEN_MINUTES, chunk))
      }
      // one slot (hash tag), so a multi-key EXISTS is fine even on a cluster
      return (await redis.exists(...chunks)) > 0
    },

    async claimWriter(replica, now, leaseMs) {
      return (await redis.zenithHistoryClaim(keys.historyWriter(), replica, now, leaseMs)) === 1
    },

    async releaseWriter(replica) {
      await redis.zenithHistoryRelease(keys.historyWriter(), replica)
    },
  }
}
