/**
 * The slow part of each snapshot: the latest slow requests and jobs of every service, read from
 * the services' streams. Services come from the nodes part (agents that beat) plus a SCAN of
 * `slow:*` split across ticks (services that only log).
 *
 * Every tick reads a bounded number of entries and reply bytes whatever the agents wrote: each
 * stream is read through a script that cuts entries on the Redis side (stream-read.ts), with a
 * share of the tick's budget. A stream's cursor always moves past what it read, even an entry cut
 * or rejected, so one hostile stream is caught up over a few ticks instead of being re-read (and
 * timing out) forever. New entries are read first, oldest first and without gaps; once a stream
 * is caught up, the leftover of its share backfills its history, newest first.
 */
import type { RedisClient } from '../redis/client.js'
import { readSlowEntry, type SlowEntry } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { CollectorPart, Snapshot } from '../collector/snapshot.js'
import type { Reply } from '../redis/batch.js'
import type { ConsoleKeys } from '../redis/keys.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import { parseStreamRead, type StreamEntry, type StreamReadBounds } from './stream-read.js'
import type { SlowScanOptions } from './stream-scan.js'
import { createSlowAggregateStore, createSlowStore } from './store.js'
import { createSlowAggregates, DEFAULT_AGGREGATE_LIMITS, emptyWindows, type AggregateLimits, type SlowWindows } from './aggregates.js'

export interface SlowEntryRecord extends SlowEntry {
  readonly service: string
}

export interface SlowPart {
  /** newest first, every service */
  readonly entries: readonly SlowEntryRecord[]
  /** counts and percentiles per time window, from the stored aggregates (aggregates.ts) */
  readonly windows: SlowWindows
}

declare module '../collector/snapshot.js' {
  interface SnapshotParts {
    readonly slow?: SlowPart
  }
}

export const ENTRIES_PER_SERVICE = 1_000

export interface SlowReadLimits {
  /** reply bytes per tick, every stream together */
  readonly tickBytes: number
  /** entries per tick, every stream together */
  readonly tickEntries: number
  /** most entries and reply bytes one stream gets per tick */
  readonly streamEntries: number
  readonly streamBytes: number
  /** least reply bytes a stream read is given; fewer streams are read per tick (in turn) rather than less */
  readonly minStreamBytes: number
  /** entries kept in memory, every service together (a service keeps at most ENTRIES_PER_SERVICE) */
  readonly keptEntries: number
  readonly entry: Pick<StreamReadBounds, 'valueBytes' | 'nameBytes' | 'maxFields' | 'rawBytes'>
}

export const DEFAULT_SLOW_LIMITS: SlowReadLimits = {
  tickBytes: 1024 * 1024,
  tickEntries: 2_000,
  streamEntries: 20,
  streamBytes: 64 * 1024,
  minStreamBytes: 4 * 1024,
  keptEntries: 50_000,
  // 256 UTF-16 units (SLOW_TEXT_MAX) take at most 768 UTF-8 bytes: a conforming value is never cut
  entry: { valueBytes: 1024, nameBytes: 64, maxFields: 16, rawBytes: 1024 * 1024 },
}

export interface SlowCollectorOptions {
  readonly limits?: Partial<SlowReadLimits>
  readonly scan?: SlowScanOptions
  readonly aggregates?: Partial<AggregateLimits>
  /** read the streams only: fold nothing into the windows (`zenith doctor` writes nothing) */
  readonly readOnly?: boolean
}

interface StreamState {
  /** newest id read: new entries are read after it */
  newestId: string | null
  /** oldest id read: history is backfilled before it until `backfilled` */
  oldestId: string | null
  backfilled: boolean
  /** oldest first */
  entries: SlowEntryRecord[]
}

export function createSlowCollector(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog, options: SlowCollectorOptions = {}): CollectorPart<'slow'> {
  const limits = { ...DEFAULT_SLOW_LIMITS, ...options.limits }
  const maxServices = options.scan?.maxServices ?? 2_000
  const store = createSlowStore(redis, keys, badData, { ...options.scan, maxServices })
  const streams = new Map<string, StreamState>()
  /** where the next tick's window of streams starts when there are more than one tick reads */
  let rotation = 0
  let changed = true
  const initial: SlowPart = { entries: [], windows: emptyWindows(0) }
  let current = initial
  let entries: readonly SlowEntryRecord[] = []
  const aggregates = createSlowAggregates(createSlowAggregateStore(redis, keys, badData), (key, reason) => badData.report(key, reason), { ...DEFAULT_AGGREGATE_LIMITS, ...options.aggregates })

  async function collect(now: number, previous: Snapshot): Promise<SlowPart> {
    await store.scanStep(now)
    const services = new Set(store.scannedServices())
    for (const node of previous.nodes) if (services.size < maxServices) services.add(node.service)
    for (const service of streams.keys()) {
      if (services.has(service)) continue
      streams.delete(service)
      changed = true
    }
    const list = [...services].sort()
    const window = readWindow(list)
    const requests = window.services.map((service) => {
      const state = streams.get(service) ?? { newestId: null, oldestId: null, backfilled: false, entries: [] }
      const cursor = state.newestId === null ? { after: null, before: '+' } : { after: state.newestId, before: state.backfilled ? null : state.oldestId }
      return { service, state, cursor }
    })
    for (const read of await store.readStreams(requests, window.bounds)) if (apply(read.service, read.state, read.reply)) changed = true
    // the share of each service shrinks as services arrive: every stream is held to it, read or not
    const perService = Math.min(ENTRIES_PER_SERVICE, Math.max(window.bounds.count, Math.floor(limits.keptEntries / Math.max(1, list.length))))
    for (const state of streams.values()) {
      if (state.entries.length < perService) continue
      // full: no more history to backfill, and only the newest are kept
      state.backfilled = true
      if (state.entries.length === perService) continue
      state.entries.splice(0, state.entries.length - perService)
      changed = true
    }
    if (changed) {
      entries = [...streams.values()].flatMap((s) => s.entries).sort(newestFirst)
      changed = false
    }
    // services that logged anything: their buckets are the only ones worth reading
    const logging = [...streams].filter(([, state]) => state.entries.length > 0).map(([service]) => service)
    const windows = options.readOnly ? current.windows : await aggregates.tick(logging, now)
    if (entries !== current.entries || windows !== current.windows) current = { entries, windows }
    return current
  }

  /**
   * The streams read this tick and each read's share. Reads are never given less than
   * `minStreamBytes`: with more services than the tick affords, they take turns.
   */
  function readWindow(list: readonly string[]): { services: string[]; bounds: StreamReadBounds } {
    const affordable = Math.max(1, Math.min(Math.floor(limits.tickBytes / limits.minStreamBytes), limits.tickEntries))
    const size = Math.min(list.length, affordable)
    if (rotation >= list.length) rotation = 0
    const services = size === list.length ? [...list] : Array.from({ length: size }, (_, i) => list[(rotation + i) % list.length]!)
    rotation = size === list.length ? 0 : (rotation + size) % list.length
    const share = Math.max(1, size)
    const bounds: StreamReadBounds = {
      ...limits.entry,
      count: Math.max(1, Math.min(limits.streamEntries, Math.floor(limits.tickEntries / share))),
      callBytes: Math.min(limits.streamBytes, Math.floor(limits.tickBytes / share)),
    }
    return { services, bounds }
  }

  /** takes one stream's read into its state; true if the state changed */
  function apply(service: string, state: StreamState, reply: Reply<unknown>): boolean {
    const key = keys.slow(service)
    if (!reply.ok) {
      if (!isKeyError(reply.error)) throw reply.error
      badData.report(key, /^WRONGTYPE /.test(reply.error.message) ? reply.error.message.slice('WRONGTYPE '.length) : shortReason(reply.error))
      return false
    }
    const read = parseStreamRead(reply.value)
    if (!read) {
      badData.report(key, 'the stream read answered in an unknown shape')
      return false
    }
    streams.set(service, state)
    const take = (entry: StreamEntry): SlowEntryRecord[] => {
      if (entry.cutBytes > 0) badData.report(`${key} ${entry.id}`, `entry of ${entry.rawBytes} bytes cut by ${entry.cutBytes} bytes`)
      const parsed = readSlowEntry(entry.id, entry.fields)
      if (parsed.ok) return [{ ...parsed.value, service }]
      badData.report(`${key} ${entry.id}`, parsed.error)
      return []
    }
    if (read.newer.length > 0) {
      const newer = read.newer.flatMap(take)
      if (!options.readOnly) aggregates.add(newer)
      state.entries.push(...newer)
      state.newestId = read.newer.at(-1)!.id
    }
    if (read.older.length > 0) {
      const older = read.older.flatMap(take)
      if (!options.readOnly) aggregates.add(older)
      state.entries.unshift(...older.reverse())
      state.newestId ??= read.older[0]!.id
      state.oldestId = read.older.at(-1)!.id
    }
    if (read.olderDone && state.newestId !== null) state.backfilled = true
    return read.newer.length > 0 || read.older.length > 0
  }

  return { key: 'slow', initial, collect }
}

function newestFirst(a: SlowEntryRecord, b: SlowEntryRecord): number {
  return b.timestamp - a.timestamp || compareIds(b.id, a.id)
}

/** Stream ids `{ms}-{seq}` in the order Redis gives them (as text, `9-0` would follow `10-0`). */
export function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number)
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number)
  return aMs - bMs || aSeq - bSeq
}
