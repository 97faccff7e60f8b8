/**
 * Reads heartbeat keys in bulk with pipelined MGET: the cheapest way Redis can hand over many
 * values. Two kinds of hostile key need care without slowing that path down:
 * - a key of another type (a hash squatting on a node key) reads as nil from MGET; nil keys get a
 *   TYPE check in a second round trip, which only runs when some key came back nil;
 * - a huge value is read once, recognised by its length, then left out of the MGET and watched
 *   with STRLEN until it shrinks, so a 10 MB value costs the wire once, not every tick.
 * Multi-key commands need every key in one slot on Redis Cluster: MGETs are cut per slot there
 * (`groupBySlot`) and pipelined per slot (`pipelineBySlot`); on one Redis that is one pipeline.
 */
import type { RedisClient } from '../redis/client.js'
import type { Slot } from '../redis/batch.js'
import { groupBySlot, pipelineBySlot } from '../redis/shards.js'
import { valueOf } from '../redis/key-errors.js'

export type RawValue = { key: string; status: 'missing' } | { key: string; status: 'ok'; raw: string } | { key: string; status: 'too-large'; size: number } | { key: string; status: 'wrong-type'; type: string }

const CHUNK = 500

export function createNodeReader(redis: RedisClient, maxBytes: number) {
  /** keys last seen holding a value over maxBytes */
  const oversized = new Set<string>()

  return async function readValues(keys: readonly string[]): Promise<RawValue[]> {
    const normal = keys.filter((key) => !oversized.has(key))
    const watched = keys.filter((key) => oversized.has(key))
    const batch = pipelineBySlot(redis)
    const chunks: { keys: string[]; values: Slot<(string | null)[]> }[] = []
    for (const group of groupBySlot(redis, normal)) {
      for (let start = 0; start < group.length; start += CHUNK) {
        const chunk = group.slice(start, start + CHUNK)
        chunks.push({ keys: chunk, values: batch.add(chunk[0]!, (p) => p.mget(...chunk)) })
      }
    }
    const sizes = watched.map((key) => ({ key, size: batch.add<number>(key, (p) => p.strlen(key)) }))
    await batch.exec()

    const values: RawValue[] = []
    /** keys to look at again in a second round trip: nil from MGET, or no longer oversized */
    const recheck: string[] = []
    for (const chunk of chunks) {
      valueOf(chunk.values).forEach((raw, i) => {
        const key = chunk.keys[i]!
        if (raw === null) recheck.push(key)
        else values.push(checkSize(key, raw))
      })
    }
    for (const { key, size } of sizes) {
      const bytes = Number(valueOf(size))
      if (bytes > maxBytes) values.push({ key, status: 'too-large', size: bytes })
      else {
        oversized.delete(key)
        recheck.push(key)
      }
    }
    values.push(...(await readOneByOne(recheck)))
    return values
  }

  function checkSize(key: string, raw: string): RawValue {
    // UTF-8 needs at most 3 bytes per UTF-16 unit: short strings skip the byte count
    const size = raw.length * 3 <= maxBytes ? raw.length : Buffer.byteLength(raw)
    if (size <= maxBytes) return { key, status: 'ok', raw }
    oversized.add(key)
    return { key, status: 'too-large', size }
  }

  /** TYPE and GET together: tells a missing key from one of another type, and reads the rest. */
  async function readOneByOne(keys: string[]): Promise<RawValue[]> {
    if (keys.length === 0) return []
    const batch = pipelineBySlot(redis)
    const asked = keys.map((key) => ({ key, type: batch.add<string>(key, (p) => p.type(key)), value: batch.add<string | null>(key, (p) => p.get(key)) }))
    await batch.exec()
    return asked.map(({ key, type, value }): RawValue => {
      const kind = valueOf(type)
      if (kind === 'none') return { key, status: 'missing' }
      if (kind !== 'string') return { key, status: 'wrong-type', type: String(kind) }
      // the key may have changed type or gone between TYPE and GET: then GET's error or nil reads as missing
      const raw = value.valueOr(null)
      return typeof raw === 'string' ? checkSize(key, raw) : { key, status: 'missing' }
    })
  }
}
