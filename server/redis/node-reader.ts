/**
 * Reads heartbeat keys in bulk with pipelined MGET: the cheapest way Redis can hand over many
 * values. Two kinds of hostile key need care without slowing that path down:
 * - a key of another type (a hash squatting on a node key) reads as nil from MGET; nil keys get a
 *   TYPE check in a second round trip, which only runs when some key came back nil;
 * - a huge value is read once, recognised by its length, then left out of the MGET and watched
 *   with STRLEN until it shrinks, so a 10 MB value costs the wire once, not every tick.
 * Multi-key commands need every key in one slot on Redis Cluster; a cluster reader would group
 * keys by slot and call this per group.
 */
import type { Redis } from 'ioredis'

export type RawValue =
  | { key: string; status: 'missing' }
  | { key: string; status: 'ok'; raw: string }
  | { key: string; status: 'too-large'; size: number }
  | { key: string; status: 'wrong-type'; type: string }

const CHUNK = 500

export function createNodeReader(redis: Redis, maxBytes: number) {
  /** keys last seen holding a value over maxBytes */
  const oversized = new Set<string>()

  return async function readValues(keys: readonly string[]): Promise<RawValue[]> {
    const normal = keys.filter((key) => !oversized.has(key))
    const watched = keys.filter((key) => oversized.has(key))
    const pipeline = redis.pipeline()
    for (let start = 0; start < normal.length; start += CHUNK) pipeline.mget(...normal.slice(start, start + CHUNK))
    for (const key of watched) pipeline.strlen(key)
    const replies = (await pipeline.exec()) ?? []
    for (const [error] of replies) if (error) throw error

    const values: RawValue[] = []
    /** keys to look at again in a second round trip: nil from MGET, or no longer oversized */
    const recheck: string[] = []
    replies.slice(0, Math.ceil(normal.length / CHUNK)).forEach(([, reply], chunk) => {
      ;(reply as (string | null)[]).forEach((raw, i) => {
        const key = normal[chunk * CHUNK + i]!
        if (raw === null) recheck.push(key)
        else values.push(checkSize(key, raw))
      })
    })
    const sizes = replies.slice(Math.ceil(normal.length / CHUNK))
    watched.forEach((key, i) => {
      const size = Number(sizes[i]?.[1] ?? 0)
      if (size > maxBytes) values.push({ key, status: 'too-large', size })
      else {
        oversized.delete(key)
        recheck.push(key)
      }
    })
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
    const pipeline = redis.pipeline()
    for (const key of keys) pipeline.type(key).get(key)
    const replies = (await pipeline.exec()) ?? []
    return keys.map((key, i): RawValue => {
      const [typeError, type] = replies[2 * i] ?? [null, 'none']
      if (typeError) throw typeError
      if (type === 'none') return { key, status: 'missing' }
      if (type !== 'string') return { key, status: 'wrong-type', type: String(type) }
      const raw = replies[2 * i + 1]?.[1]
      return typeof raw === 'string' ? checkSize(key, raw) : { key, status: 'missing' }
    })
  }
}
