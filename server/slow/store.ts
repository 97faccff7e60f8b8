/**
 * The slow area's Redis I/O: finding the services that log without beating (stream-scan.ts), the
 * bounded stream reads (stream-read.ts), and the windows' aggregates (folding entries with
 * fold-script.ts, reading buckets back), pipelined by slot so the same store runs on a Cluster.
 * The collector part decides what to read and keeps the cursors; it never sends a command.
 */
import type { RedisClient } from '../redis/client.js'
import type { Reply } from '../redis/batch.js'
import { pipelineBySlot } from '../redis/shards.js'
import type { ConsoleKeys } from '../redis/keys.js'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { defineStreamRead, queueStreamRead, type StreamCursor, type StreamReadBounds } from './stream-read.js'
import { createSlowStreamScanner, type SlowScanOptions } from './stream-scan.js'
import { defineFold, queueFold, type FoldEntry } from './fold-script.js'
import { EMPTY_BUCKET, parseBucket, type BucketContents, type BucketRef } from './windows.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'

export interface SlowStreamRequest {
  readonly service: string
  readonly cursor: StreamCursor
}

export interface SlowStore {
  /** one tick's share of the `slow:*` SCAN pass */
  scanStep(now: number): Promise<void>
  /** services of the last finished pass, plus those found so far in the current one */
  scannedServices(): ReadonlySet<string>
  /** reads every requested stream in one round trip per slot; each request comes back with its own reply */
  readStreams<R extends SlowStreamRequest>(requests: readonly R[], bounds: StreamReadBounds): Promise<(R & { readonly reply: Reply<unknown> })[]>
}

export interface SlowAggregateStore {
  streamKey(service: string): string
  bucketKey(service: string, bucket: BucketRef): string
  /** one fold script call per service, one round trip per slot; each call comes back with its reply */
  fold<C extends { readonly service: string; readonly entries: readonly FoldEntry[] }>(calls: readonly C[], options: { ttlMs: number; maxNames: number }): Promise<(C & { readonly reply: Reply<unknown> })[]>
  /** HGETALL of each bucket, in order; a key of another type reads empty and is reported */
  readBuckets(keys: readonly string[]): Promise<BucketContents[]>
}

export function createSlowAggregateStore(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog): SlowAggregateStore {
  defineFold(redis)
  return {
    streamKey: (service) => keys.slow(service),
    bucketKey: (service, bucket) => keys.slowAggregate(service, bucket.resolution, bucket.start),
    async fold(calls, options) {
      const batch = pipelineBySlot(redis)
      const queued = calls.map((call) => ({
        call,
        slot: queueFold(batch, { foldedKey: keys.slowFolded(call.service), floorKey: keys.slowFoldFloor(call.service), ttlMs: options.ttlMs, maxNames: options.maxNames, entries: call.entries }),
      }))
      await batch.exec()
      return queued.map(({ call, slot }) => ({ ...call, reply: slot.reply }))
    },
    async readBuckets(bucketKeys) {
      const batch = pipelineBySlot(redis)
      const slots = bucketKeys.map((key) => batch.add<Record<string, string>>(key, (pipeline) => pipeline.hgetall(key)))
      await batch.exec()
      return slots.map((slot, i) => {
        if (slot.reply.ok) return parseBucket(slot.reply.value)
        if (!isKeyError(slot.reply.error)) throw slot.reply.error
        badData.report(bucketKeys[i]!, shortReason(slot.reply.error))
        return EMPTY_BUCKET
      })
    },
  }
}

export function createSlowStore(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog, scan: SlowScanOptions = {}): SlowStore {
  const scanner = createSlowStreamScanner(redis, keys, badData, scan)
  defineStreamRead(redis)

  return {
    scanStep: (now) => scanner.step(now),
    scannedServices: () => scanner.services(),
    async readStreams(requests, bounds) {
      const batch = pipelineBySlot(redis)
      const queued = requests.map((request) => ({ request, slot: queueStreamRead(batch, keys.slow(request.service), request.cursor, bounds) }))
      await batch.exec()
      return queued.map(({ request, slot }) => ({ ...request, reply: slot.reply }))
    },
  }
}
