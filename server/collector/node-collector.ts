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

  async function collect(now: number): Promise<NodeRecord[]> {
    // index entries of nodes long gone would be read (as missing) forever without this
    if (++ticks % PRUNE_INDEX_EVERY_TICKS === 0) await finder.pruneIndex(now)
    const [indexed, scanned] = await Promise.all([finder.fromIndex(now), finder.scanStep(now)])
    for (const key of indexed.keys) tracked.add(key)
    for (const key of scanned) {
      if (keys.parseNode(key)) tracked.add(key)
      else badData.report(key, 'key name outside the name rule')
    }
    const values = await deps.readValues([...new Set([...tracked, ...known.keys()])])

    for (const value of values) {
      const record = toRecord(value)
      if (record) {
        known.set(value.key, record)
        continue
      }
      if (value.status === 'missing') tracked.delete(value.key)
      markGone(value.key)
    }
    expire(now)
    return [...known.values()].sort(byServiceThenNode)
  }

  function toRecord(value: RawValue): NodeRecord | null {
    // every key here passed parseNode already: scanned keys above, indexed keys when built
    const ref = keys.parseNode(value.key)
    if (!ref) return null
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
      }
    }
  }

  return { key: 'nodes', initial: [], collect }
}
