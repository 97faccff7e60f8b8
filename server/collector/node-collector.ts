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
 */
import type { Redis } from 'ioredis'
import { MAX_VALUE_BYTES, parseAgentJson, readHeartbeat } from '@gravito/quasar/protocol'
import type { ConsoleKeys } from '../redis/keys.js'
import { createKeyFinder, type KeyFinder } from '../redis/key-finder.js'
import { createNodeReader, type RawValue } from '../redis/node-reader.js'
import { DEAD_AFTER_MS } from '../nodes/health.js'
import { sliceTimer } from '../runtime/slices.js'
import type { BadDataLog } from './bad-data-log.js'
import { byServiceThenNode, type CollectorPart, type NodeRecord } from './snapshot.js'

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
}

const PRUNE_INDEX_EVERY_TICKS = 30
/** every key is read at least this often (in ticks), whatever the index says */
const FULL_READ_EVERY_TICKS = 5
/**
 * Below this many indexed nodes every key is read every tick: reading them all costs little, and
 * every change, however it was written, shows on the next tick.
 */
export const READ_ALL_BELOW = 500

export function createNodeCollector(deps: NodeCollectorDeps): CollectorPart<'nodes'> {
  const { keys, finder, badData } = deps
  /** last good record per heartbeat key */
  const known = new Map<string, NodeRecord>()
  /** keys found by the index or SCAN and not yet seen missing */
  const tracked = new Set<string>()
  /**
   * the raw value behind each known record: ticks (2 s) outpace beats (10 s), so most reads
   * return the same string and parsing and validating it again would be wasted work
   */
  const rawOf = new Map<string, string>()

  /**
   * beat time of each key as the index last gave it: an indexed node is read again only when its
   * index entry moves (it beat), while a node the index does not list is read every tick
   */
  const indexedBeatAt = new Map<string, number>()

  let ticks = 0
  /** starts past the limit, so the first tick reads everything */
  let ticksSinceFullRead = Number.POSITIVE_INFINITY
  /**
   * Membership changes far less often than values: the key lists and the display order are
   * rebuilt only when a key is added or dropped, not on each of the ticks in between.
   */
  let membershipChanged = true
  /** every key to read on a full read (tracked and known ones), as a set and as an array */
  let readSet = new Set<string>()
  let allKeys: string[] = []
  /** the keys the index does not list: read every tick */
  let unindexedKeys: string[] = []
  let displayOrder: string[] = []

  async function collect(now: number): Promise<NodeRecord[]> {
    // index entries of nodes long gone would be read (as missing) forever without this
    if (++ticks % PRUNE_INDEX_EVERY_TICKS === 0) await finder.pruneIndex(now)
    const [indexed, scanned] = await Promise.all([finder.fromIndex(now), finder.scanStep(now)])
    const beaten: string[] = []
    for (const { key, beatAt } of indexed.entries) {
      track(key)
      if (indexedBeatAt.get(key) === beatAt) continue
      if (!indexedBeatAt.has(key)) membershipChanged = true
      indexedBeatAt.set(key, beatAt)
      beaten.push(key)
    }
    for (const key of scanned) {
      if (tracked.has(key)) continue
      if (keys.parseNode(key)) track(key)
      else badData.report(key, 'key name outside the name rule')
    }
    if (membershipChanged) rebuildKeyLists()
    // a full read now and then sees what the index cannot tell: a key deleted, expired, replaced
    // by another type or rewritten without a new index entry; in between, indexed nodes that did
    // not beat keep the value read last, and new keys are among `beaten` or `unindexedKeys`
    const full = indexedBeatAt.size < (deps.readAllBelow ?? READ_ALL_BELOW) || ++ticksSinceFullRead >= FULL_READ_EVERY_TICKS
    if (full) ticksSinceFullRead = 0
    const values = await deps.readValues(full ? allKeys : [...unindexedKeys, ...beaten])

    const slice = sliceTimer(deps.sliceMs)
    for (const value of values) {
      if (slice.due()) await slice.pause()
      const record = toRecord(value)
      if (record) {
        if (!known.has(value.key)) membershipChanged = true
        known.set(value.key, record)
        continue
      }
      if (value.status === 'missing' && tracked.delete(value.key)) membershipChanged = true
      markGone(value.key)
    }
    expire(now)
    if (membershipChanged) {
      displayOrder = [...known.entries()].sort(([, a], [, b]) => byServiceThenNode(a, b)).map(([key]) => key)
      rebuildKeyLists()
    }
    return displayOrder.map((key) => known.get(key)!)
  }

  function track(key: string): void {
    if (tracked.has(key)) return
    tracked.add(key)
    membershipChanged = true
  }

  function rebuildKeyLists(): void {
    readSet = new Set([...tracked, ...known.keys()])
    allKeys = [...readSet]
    unindexedKeys = allKeys.filter((key) => !indexedBeatAt.has(key))
    membershipChanged = false
  }

  function toRecord(value: RawValue): NodeRecord | null {
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
    if (previous && rawOf.get(value.key) === value.raw) return previous.keyPresent ? previous : { ...previous, keyPresent: true }
    // every key here passed parseNode already (scanned keys above, indexed keys when built); this
    // only recovers the parts, for values that changed
    const ref = keys.parseNode(value.key)
    if (!ref) return null
    const json = parseAgentJson(value.raw, deps.maxValueBytes)
    if (!json.ok) {
      badData.report(value.key, json.error)
      return null
    }
    const beat = readHeartbeat(json.value)
    if (!beat.ok) {
      badData.report(value.key, beat.error)
      return null
    }
    if (beat.skipped.length > 0) badData.report(value.key, `fields skipped: ${beat.skipped.join(', ')}`)
    rawOf.set(value.key, value.raw)
    return {
      service: ref.service,
      nodeId: ref.nodeId,
      heartbeat: beat.value,
      lastSeenAt: beat.value.timestamp,
      keyPresent: true,
    }
  }

  function markGone(key: string): void {
    const last = known.get(key)
    if (last?.keyPresent) known.set(key, { ...last, keyPresent: false })
  }

  function expire(now: number): void {
    for (const [key, record] of known) {
      if (!record.keyPresent && now - record.lastSeenAt > DEAD_AFTER_MS + deps.graceMs) {
        known.delete(key)
        rawOf.delete(key)
        indexedBeatAt.delete(key)
        membershipChanged = true
      }
    }
  }

  return { key: 'nodes', initial: [], collect }
}

/** The node collector over one Redis, as the console runs it (the benchmark and tests too). */
export function createRedisNodeCollector(
  redis: Redis,
  keys: ConsoleKeys,
  options: { graceMs: number; badData: BadDataLog; readAllBelow?: number; sliceMs?: number },
): CollectorPart<'nodes'> {
  return createNodeCollector({
    keys,
    // index entries stay useful as long as a node is listed: dead, then its grace period
    finder: createKeyFinder(redis, keys, { indexWindowMs: DEAD_AFTER_MS + options.graceMs }),
    readValues: createNodeReader(redis, MAX_VALUE_BYTES),
    badData: options.badData,
    maxValueBytes: MAX_VALUE_BYTES,
    graceMs: options.graceMs,
    ...(options.readAllBelow === undefined ? {} : { readAllBelow: options.readAllBelow }),
    ...(options.sliceMs === undefined ? {} : { sliceMs: options.sliceMs }),
  })
}
