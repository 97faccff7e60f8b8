/**
 * Turns heartbeat keys into node records, remembering nodes whose key has gone so they can be shown
 * as dead with their last values for a grace period.
 */
import { parseAgentJson, readHeartbeat } from '@gravito/quasar/protocol'
import type { ConsoleKeys } from '../redis/keys.js'
import type { KeyFinder } from '../redis/key-finder.js'
import type { RawValue } from '../redis/node-reader.js'
import { DEAD_AFTER_MS } from '../nodes/health.js'
import type { BadDataLog } from './bad-data-log.js'
import { byServiceThenNode, type CollectorPart, type NodeRecord } from './snapshot.js'

export interface NodeCollectorDeps {
  keys: ConsoleKeys
  finder: KeyFinder
  readValues: (keys: readonly string[]) => Promise<RawValue[]>
  badData: BadDataLog
  maxValueBytes: number
  graceMs: number
}

const PRUNE_INDEX_EVERY_TICKS = 30

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

  let ticks = 0
  /**
   * Membership changes far less often than values: the list of keys to read and the display order
   * are rebuilt only when a key is added or dropped, not on each of the ticks in between.
   */
  let membershipChanged = true
  /** the keys read each tick: tracked and known ones, as a set and as the array handed to MGET */
  let readSet = new Set<string>()
  let keysToRead: string[] = []
  let displayOrder: string[] = []

  async function collect(now: number): Promise<NodeRecord[]> {
    // index entries of nodes long gone would be read (as missing) forever without this
    if (++ticks % PRUNE_INDEX_EVERY_TICKS === 0) await finder.pruneIndex(now)
    // the keys already known are read in the same round trip as the index and SCAN step, which
    // only rarely turn up a key that is not known yet: those are read in a second, small one
    const [values, indexed, scanned] = await Promise.all([deps.readValues(keysToRead), finder.fromIndex(now), finder.scanStep(now)])
    const discovered: string[] = []
    for (const key of indexed.keys) track(key, discovered)
    for (const key of scanned) {
      if (keys.parseNode(key)) track(key, discovered)
      else badData.report(key, 'key name outside the name rule')
    }
    if (discovered.length > 0) values.push(...(await deps.readValues(discovered)))

    for (const value of values) {
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
      readSet = new Set([...tracked, ...known.keys()])
      keysToRead = [...readSet]
      membershipChanged = false
    }
    return displayOrder.map((key) => known.get(key)!)
  }

  /** Starts tracking a key; one not read this tick goes to `discovered`. */
  function track(key: string, discovered: string[]): void {
    if (tracked.has(key)) return
    tracked.add(key)
    membershipChanged = true
    if (!readSet.has(key)) discovered.push(key)
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
        membershipChanged = true
      }
    }
  }

  return { key: 'nodes', initial: [], collect }
}
