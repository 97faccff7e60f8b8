/**
 * Turns heartbeat keys into node records, remembering nodes whose key has gone so they can be shown
 * as dead with their last values for a grace period.
 *
 * What is read each tick: with beats every 10 s and ticks every 2 s, four reads in five would
 * return the value already held, which matters with thousands of nodes. From READ_ALL_BELOW
 * indexed nodes on, nodes in the index (our SDK's) are read when their index entry says they beat;
 * nodes only SCAN found (agents that write just the key) are read every tick; and every key is
 * read every FULL_READ_EVERY_TICKS ticks, which bounds how late a change the index does not show
 * (a key deleted, or rewritten without a new index entry) is seen. Smaller fleets are read whole
 * every tick.
 *
 * Time is the console's: a record carries when the collector last read a new value (`seenAt`) and
 * when its key was first seen missing (`goneAt`), and a gone node leaves `graceMs` after that,
 * whatever its heartbeat's timestamp says. An implausible timestamp is kept, flagged and reported.
 *
 * Memory is bounded whatever the agents write: every map here holds only tracked keys, and at most
 * `maxNodes` keys (`maxNodesPerService` of one service) are tracked; new keys beyond that are
 * ignored and reported with a count.
 */
import type { RedisClient } from '../redis/client.js'
import { MAX_VALUE_BYTES } from '@gravito/quasar/protocol'
import type { ConsoleKeys } from '../redis/keys.js'
import { createKeyFinder, MAX_MEMBERS_PER_INDEX, type KeyFinder, type KeyFinderOptions } from '../redis/key-finder.js'
import { createNodeReader, type RawValue } from './store.js'
import { CLOCK_SKEW_LIMIT_MS, DEAD_AFTER_MS } from '../collector/health.js'
import { digestOfValue, heartbeatRecord } from './heartbeat-record.js'
import { sliceTimer } from '../runtime/slices.js'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { byServiceThenNode, type CollectorPart, type NodeRecord } from '../collector/snapshot.js'

export interface NodeCollectorDeps {
  keys: ConsoleKeys
  finder: KeyFinder
  readValues: (keys: readonly string[]) => Promise<RawValue[]>
  badData: BadDataLog
  maxValueBytes: number
  graceMs: number
  /** READ_ALL_BELOW, for tests of the index-driven reads with a few nodes */
  readAllBelow?: number
  /** the parse loop hands the event loop back after this long (see runtime/slices.ts) */
  sliceMs?: number
  /** most node keys tracked (MAX_NODES); smaller in tests */
  maxNodes?: number
  /** most node keys of one service tracked, so one service cannot take every place */
  maxNodesPerService?: number
}

const PRUNE_INDEX_EVERY_TICKS = 30
/** every key is read at least this often (in ticks), whatever the index says */
const FULL_READ_EVERY_TICKS = 5
/**
 * Below this many indexed nodes every key is read every tick: reading them all costs little, and
 * every change, however it was written, shows on the next tick.
 */
export const READ_ALL_BELOW = 500
/** About 0.9 KB of Redis and a few KB of console memory each: far past any fleet seen. */
export const MAX_NODES = 50_000

export interface NodeCollector extends CollectorPart<'nodes'> {
  /** sizes of the collector's maps, for tests that check they stay bounded */
  sizes(): { tracked: number; known: number; raw: number; indexed: number; indexes: number; remembered: number }
  /** what the last tick took from Redis: index members, and heartbeat keys asked for */
  lastTick(): { indexMembersRead: number; keysRead: number }
}

export function createNodeCollector(deps: NodeCollectorDeps): NodeCollector {
  const { keys, finder, badData } = deps
  const maxNodes = deps.maxNodes ?? MAX_NODES
  const maxNodesPerService = deps.maxNodesPerService ?? MAX_MEMBERS_PER_INDEX
  /** last good record per heartbeat key */
  const known = new Map<string, NodeRecord>()
  /**
   * every key to read, with its service: found by the index or SCAN and not yet dropped (a key
   * seen missing stays while its record is listed). Every other map holds tracked keys only.
   */
  const tracked = new Map<string, string>()
  const trackedPerService = new Map<string, number>()
  /**
   * a digest of the raw value behind each known record: ticks (2 s) outpace beats (10 s), so most
   * reads return the same string and parsing and validating it again would be wasted work. A
   * digest rather than the value: 27 characters kept per node instead of its 600 bytes of JSON (and
   * every beat's string would otherwise live on in the old generation until the next one).
   */
  const digestOf = new Map<string, string>()

  /**
   * beat time of each key as the index last gave it: an indexed node is read again only when its
   * index entry moves (it beat), while a node the index does not list is read every tick
   */
  const indexedBeatAt = new Map<string, number>()

  let ticks = 0
  /** starts past the limit, so the first tick reads everything */
  let ticksSinceFullRead = Number.POSITIVE_INFINITY
  /** new keys refused this tick for want of room */
  let refused = 0
  /**
   * Membership changes far less often than values: the key lists and the display order are
   * rebuilt only when a key is added or dropped, not on each of the ticks in between.
   */
  let membershipChanged = true
  /** every key to read on a full read */
  let allKeys: string[] = []
  /** the keys the index does not list: read every tick */
  let unindexedKeys: string[] = []
  let displayOrder: string[] = []
  let lastTick = { indexMembersRead: 0, keysRead: 0 }

  async function collect(now: number): Promise<NodeRecord[]> {
    // index entries of nodes long gone, or scored far ahead, would stay for ever without this;
    // the first tick prunes too, so a console started after an attack does not wait a minute
    if (ticks++ % PRUNE_INDEX_EVERY_TICKS === 0) await finder.pruneIndex(now)
    const [indexed, scanned] = await Promise.all([finder.fromIndex(now), finder.scanStep(now)])
    refused = 0
    /** keys whose index entry moved, with the beat time to remember once their value is read */
    const beaten = new Map<string, number>()
    for (const { key, service, beatAt } of indexed.entries) {
      if (track(key, service) && indexedBeatAt.get(key) !== beatAt) beaten.set(key, beatAt)
    }
    for (const key of scanned) {
      if (tracked.has(key)) continue
      const ref = keys.parseNode(key)
      if (ref) track(key, ref.service)
      else badData.report(key, 'key name outside the name rule')
    }
    if (refused > 0) {
      badData.report(keys.nodePattern(), `${refused} new node keys ignored: the console tracks at most ${maxNodes} nodes, ${maxNodesPerService} per service`)
    }
    if (membershipChanged) rebuildKeyLists()
    // a full read now and then sees what the index cannot tell: a key deleted, expired, replaced
    // by another type or rewritten without a new index entry; in between, indexed nodes that did
    // not beat keep the value read last, and new keys are among `beaten` or `unindexedKeys`
    const full = indexedBeatAt.size < (deps.readAllBelow ?? READ_ALL_BELOW) || ++ticksSinceFullRead >= FULL_READ_EVERY_TICKS
    // a key new to the index is still among the unindexed until its value is read
    const toRead = full ? allKeys : [...unindexedKeys.filter((key) => !beaten.has(key)), ...beaten.keys()]
    lastTick = { indexMembersRead: indexed.membersRead, keysRead: toRead.length }
    const values = await deps.readValues(toRead)
    // only a read that succeeded counts: after a failed one, the next tick reads the same again
    if (full) ticksSinceFullRead = 0
    for (const [key, beatAt] of beaten) {
      if (!indexedBeatAt.has(key)) membershipChanged = true
      indexedBeatAt.set(key, beatAt)
    }

    const slice = sliceTimer(deps.sliceMs)
    for (const value of values) {
      if (slice.due()) await slice.pause()
      const record = toRecord(value, now)
      if (record) {
        if (!known.has(value.key)) membershipChanged = true
        known.set(value.key, record)
        continue
      }
      if (known.has(value.key)) markGone(value.key, now)
      else if (value.status === 'missing') untrack(value.key)
    }
    expire(now)
    if (membershipChanged) {
      displayOrder = [...known.entries()].sort(([, a], [, b]) => byServiceThenNode(a, b)).map(([key]) => key)
      rebuildKeyLists()
    }
    return displayOrder.map((key) => known.get(key)!)
  }

  /** Tracks a key if there is room; false when it was refused. */
  function track(key: string, service: string): boolean {
    if (tracked.has(key)) return true
    const ofService = trackedPerService.get(service) ?? 0
    if (tracked.size >= maxNodes || ofService >= maxNodesPerService) {
      refused++
      return false
    }
    tracked.set(key, service)
    trackedPerService.set(service, ofService + 1)
    membershipChanged = true
    return true
  }

  function untrack(key: string): void {
    const service = tracked.get(key)
    if (service === undefined) return
    tracked.delete(key)
    const left = trackedPerService.get(service)! - 1
    if (left === 0) trackedPerService.delete(service)
    else trackedPerService.set(service, left)
    known.delete(key)
    digestOf.delete(key)
    indexedBeatAt.delete(key)
    membershipChanged = true
  }

  function rebuildKeyLists(): void {
    allKeys = [...tracked.keys()]
    unindexedKeys = allKeys.filter((key) => !indexedBeatAt.has(key))
    membershipChanged = false
  }

  function toRecord(value: RawValue, now: number): NodeRecord | null {
    switch (value.status) {
      case 'missing':
        return null
      case 'too-large':
        badData.report(value.key, `value is ${value.size} bytes, over ${deps.maxValueBytes}`)
        return null
      case 'wrong-type':
        badData.report(value.key, `key holds a ${value.type}, not a string`)
        return null
    }
    const previous = known.get(value.key)
    const digest = digestOfValue(value.raw)
    // the same value again is not a new beat: seenAt stays (a Redis restored from disk hands back
    // what it held, and that says nothing about the node since)
    if (previous && digestOf.get(value.key) === digest) return previous.keyPresent ? previous : { ...previous, keyPresent: true, goneAt: null }
    // every key here passed parseNode already (scanned keys above, indexed keys when built); this
    // only recovers the parts, for values that changed
    const ref = keys.parseNode(value.key)
    if (!ref) return null
    const record = heartbeatRecord(value.key, ref, value.raw, now, badData, deps.maxValueBytes)
    if (record) digestOf.set(value.key, digest)
    return record
  }

  /** The key is missing or no longer holds a beat: the node is dead, listed until the grace ends. */
  function markGone(key: string, now: number): void {
    const last = known.get(key)
    if (last?.keyPresent) known.set(key, { ...last, keyPresent: false, goneAt: now })
  }

  function expire(now: number): void {
    for (const [key, record] of known) {
      if (record.goneAt !== null && now - record.goneAt >= deps.graceMs) untrack(key)
    }
  }

  function sizes() {
    return { tracked: tracked.size, known: known.size, raw: digestOf.size, indexed: indexedBeatAt.size, ...finder.sizes() }
  }

  return { key: 'nodes', initial: [], collect, sizes, lastTick: () => lastTick }
}

export interface RedisNodeCollectorOptions {
  graceMs: number
  badData: BadDataLog
  readAllBelow?: number
  sliceMs?: number
  maxNodes?: number
  maxNodesPerService?: number
  /** the finder's limits and pacing, for tests */
  finder?: Omit<KeyFinderOptions, 'indexWindowMs' | 'futureLimitMs' | 'badData'>
}

/** The node collector over one Redis, as the console runs it (the benchmark and tests too). */
export function createRedisNodeCollector(redis: RedisClient, keys: ConsoleKeys, options: RedisNodeCollectorOptions): NodeCollector {
  const { finder, ...rest } = options
  const maxNodes = options.maxNodes ?? MAX_NODES
  return createNodeCollector({
    ...rest,
    keys,
    finder: createKeyFinder(redis, keys, {
      maxMembersPerTick: maxNodes,
      ...finder,
      // index entries stay useful as long as a node is listed: dead, then its grace period
      indexWindowMs: DEAD_AFTER_MS + options.graceMs,
      futureLimitMs: CLOCK_SKEW_LIMIT_MS,
      badData: options.badData,
    }),
    readValues: createNodeReader(redis, MAX_VALUE_BYTES),
    maxValueBytes: MAX_VALUE_BYTES,
  })
}
