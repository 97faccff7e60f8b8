/**
 * The slow area's Redis I/O: finding the services that log without beating (stream-scan.ts) and
 * the bounded stream reads (stream-read.ts), pipelined by slot so the same store runs on a
 * Cluster. The collector part decides what to read and keeps the cursors; it never sends a command.
 */
import type { RedisClient } from '../redis/client.js'
import type { Reply } from '../redis/batch.js'
import { pipelineBySlot } from '../redis/shards.js'
import type { ConsoleKeys } from '../redis/keys.js'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { defineStreamRead, queueStreamRead, type StreamCursor, type StreamReadBounds } from './stream-read.js'
import { createSlowStreamScanner, type SlowScanOptions } from './stream-scan.js'

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
