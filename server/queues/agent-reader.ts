/**
 * Reads the agents' queue snapshots, `{prefix}queues:{service}`, one GET per service in a single
 * pipeline per tick. GET (unlike MGET) answers a key of another type with WRONGTYPE, so missing and
 * squatted keys are told apart without a second round trip. A value is checked for size before
 * parsing; one found too large is watched with STRLEN until it shrinks, so it crosses the wire once,
 * not every tick. A value is parsed only when it changed: agents rewrite every 10 s, the console
 * reads every 2 s. Any bad key is skipped and logged (rate-limited); the other keys are unaffected.
 */
import type { RedisClient } from '../redis/client.js'
import { MAX_VALUE_BYTES, parseAgentJson, readQueueSnapshot, type ReadQueueSnapshot } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { reportSkips } from '../collector/skip-report.js'
import type { Slot } from '../redis/batch.js'
import { pipelineBySlot } from '../redis/shards.js'
import { readKey } from '../redis/key-errors.js'
import type { ConsoleKeys } from '../redis/keys.js'

export function createAgentSnapshotReader(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog, maxBytes = MAX_VALUE_BYTES) {
  /** last raw value per key and what it parsed to (null: it did not) */
  const parsed = new Map<string, { raw: string; value: ReadQueueSnapshot | null }>()
  const oversized = new Set<string>()

  return async function readSnapshots(services: readonly string[]): Promise<Map<string, ReadQueueSnapshot>> {
    const result = new Map<string, ReadQueueSnapshot>()
    if (services.length === 0) {
      parsed.clear()
      return result
    }
    const batch = pipelineBySlot(redis)
    type Asked = { service: string; key: string } & ({ size: Slot<number> } | { value: Slot<string | null> })
    const asked = services.map((service): Asked => {
      const key = keys.queues(service)
      // a key found too large is only measured until it shrinks
      return oversized.has(key) ? { service, key, size: batch.add(key, (p) => p.strlen(key)) } : { service, key, value: batch.add(key, (p) => p.get(key)) }
    })
    await batch.exec()
    const seen = new Set<string>()
    for (const entry of asked) {
      const { service, key } = entry
      if ('size' in entry) {
        const size = readKey(entry.size, key, badData)
        if (!size.ok) continue
        if (size.value > maxBytes) badData.report(key, `value is ${size.value} bytes, over ${maxBytes}`)
        // small again (or gone): read it normally from the next tick
        else oversized.delete(key)
        continue
      }
      const reply = readKey(entry.value, key, badData)
      if (!reply.ok || typeof reply.value !== 'string') continue
      seen.add(key)
      const value = parse(key, reply.value)
      if (value) result.set(service, value)
    }
    for (const key of parsed.keys()) if (!seen.has(key)) parsed.delete(key)
    return result
  }

  function parse(key: string, raw: string): ReadQueueSnapshot | null {
    const cached = parsed.get(key)
    if (cached && cached.raw === raw) return cached.value
    // UTF-8 needs at most 3 bytes per UTF-16 unit: short strings skip the byte count
    const size = raw.length * 3 <= maxBytes ? raw.length : Buffer.byteLength(raw)
    if (size > maxBytes) {
      oversized.add(key)
      parsed.delete(key)
      badData.report(key, `value is ${size} bytes, over ${maxBytes}`)
      return null
    }
    let value: ReadQueueSnapshot | null = null
    const json = parseAgentJson(raw, maxBytes)
    if (!json.ok) badData.report(key, json.error)
    else {
      const snapshot = readQueueSnapshot(json.value)
      if (!snapshot.ok) badData.report(key, snapshot.error)
      else {
        value = snapshot.value
        // reported once per new value: an unchanged snapshot is not parsed again (see above)
        reportSkips(badData, key, snapshot.skipped, snapshot.skippedTotal)
      }
    }
    parsed.set(key, { raw, value })
    return value
  }
}
