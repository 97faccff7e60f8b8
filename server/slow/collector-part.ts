/**
 * The slow part of each snapshot: the latest slow requests and jobs of every service, read from
 * the services' streams. Services come from the nodes part (agents that beat) plus a SCAN of
 * `slow:*` every 10 s (services that only log). Streams are read incrementally: the first read
 * takes the newest entries, later ones only what was added since the last id seen, so a quiet
 * tick costs one empty reply per service. At most ENTRIES_PER_SERVICE are kept per service.
 */
import type { Redis } from 'ioredis'
import { readSlowEntry, type SlowEntry } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { CollectorPart, Snapshot } from '../collector/snapshot.js'
import type { ConsoleKeys } from '../redis/keys.js'

export interface SlowEntryRecord extends SlowEntry {
  readonly service: string
}

export interface SlowPart {
  /** newest first, every service */
  readonly entries: readonly SlowEntryRecord[]
}

declare module '../collector/snapshot.js' {
  interface SnapshotParts {
    readonly slow?: SlowPart
  }
}

export const ENTRIES_PER_SERVICE = 1_000
/** entries read per stream per tick; a burst larger than this is caught up over the next ticks */
const READ_COUNT = 200
const SCAN_EVERY_MS = 10_000
const MAX_SERVICES = 2_000

interface StreamState {
  lastId: string | null
  /** oldest first */
  entries: SlowEntryRecord[]
}

export function createSlowCollector(redis: Redis, keys: ConsoleKeys, badData: BadDataLog): CollectorPart<'slow'> {
  const streams = new Map<string, StreamState>()
  const scanned = new Set<string>()
  let lastScanAt = Number.NEGATIVE_INFINITY
  let changed = true
  let current: SlowPart = { entries: [] }

  async function discover(now: number): Promise<void> {
    if (now - lastScanAt < SCAN_EVERY_MS && now >= lastScanAt) return
    lastScanAt = now
    let cursor = '0'
    let steps = 0
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', keys.slowPattern(), 'COUNT', 1000)
      for (const key of batch) {
        const service = keys.parseSlow(key)
        if (service) scanned.add(service)
        else badData.report(key, 'key name outside the name rule')
      }
      cursor = next
    } while (cursor !== '0' && ++steps < 20 && scanned.size < MAX_SERVICES)
  }

  async function collect(now: number, previous: Snapshot): Promise<SlowPart> {
    await discover(now)
    const services = new Set(scanned)
    for (const node of previous.nodes) if (services.size < MAX_SERVICES) services.add(node.service)
    const list = [...services]
    const pipeline = redis.pipeline()
    for (const service of list) {
      const state = streams.get(service)
      const key = keys.slow(service)
      if (state?.lastId) pipeline.xrange(key, `(${state.lastId}`, '+', 'COUNT', READ_COUNT)
      else pipeline.xrevrange(key, '+', '-', 'COUNT', READ_COUNT)
    }
    const replies = (await pipeline.exec()) ?? []
    list.forEach((service, i) => {
      const [error, reply] = replies[i] ?? [null, []]
      const key = keys.slow(service)
      if (error) {
        if (/WRONGTYPE/.test(error.message)) badData.report(key, 'key is not a stream')
        else throw error
        return
      }
      const raw = (reply as [string, string[]][]) ?? []
      if (raw.length === 0) return
      const state = streams.get(service) ?? { lastId: null, entries: [] }
      const fresh = state.lastId ? raw : [...raw].reverse()
      for (const [id, fields] of fresh) {
        const entry = readSlowEntry(id, fields)
        if (entry.ok) state.entries.push({ ...entry.value, service })
        else badData.report(`${key} ${id}`, entry.error)
      }
      state.lastId = fresh.at(-1)![0]
      if (state.entries.length > ENTRIES_PER_SERVICE) state.entries.splice(0, state.entries.length - ENTRIES_PER_SERVICE)
      streams.set(service, state)
      changed = true
    })
    if (changed) {
      current = { entries: [...streams.values()].flatMap((s) => s.entries).sort((a, b) => b.timestamp - a.timestamp || (a.id < b.id ? 1 : -1)) }
      changed = false
    }
    return current
  }

  return { key: 'slow', initial: { entries: [] }, collect }
}
