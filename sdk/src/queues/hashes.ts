/**
 * Reads job hashes whose big fields (payloads, stack traces) may be of any size. The probe runs
 * inside the application every few seconds, so it first asks each big field's length (HSTRLEN)
 * and only fetches those under FIELD_READ_LIMIT: a 10 MB payload sitting in a failed job costs a
 * few bytes per beat, not 10 MB. Two pipelined round trips for any number of hashes.
 */
import type { AgentRedis } from '../client.js'
import { Batch } from './pipeline.js'

export const FIELD_READ_LIMIT = 64 * 1024

export type BigField = { value: string } | { tooLarge: number } | null

export interface HashRead {
  small: (string | null)[]
  big: BigField[]
}

/** One result per request; null when the key is not a hash or could not be read. */
export async function readHashes(redis: AgentRedis, requests: { key: string; small: readonly string[]; big: readonly string[] }[]): Promise<(HashRead | null)[]> {
  if (requests.length === 0) return []
  const first = new Batch(redis)
  const at = requests.map(({ key, small, big }) => ({
    small: first.add(key, (p) => p.hmget(key, ...small)),
    lengths: big.map((field) => first.add(key, (p) => p.hstrlen(key, field))),
  }))
  const replies = await first.run()

  const second = new Batch(redis)
  const fetches = requests.map(({ key, big }, n) => {
    const lengths = big.map((_, b) => {
      const reply = replies[at[n]!.lengths[b]!]
      return reply?.ok && typeof reply.value === 'number' ? reply.value : -1
    })
    const readable = big.filter((_, b) => lengths[b]! > 0 && lengths[b]! <= FIELD_READ_LIMIT)
    const index = readable.length > 0 ? second.add(key, (p) => p.hmget(key, ...readable)) : -1
    return { lengths, readable, index }
  })
  const values = await second.run()

  return requests.map(({ big }, n) => {
    const smallReply = replies[at[n]!.small]
    if (!smallReply?.ok || !Array.isArray(smallReply.value)) return null
    const small = (smallReply.value as unknown[]).map((value) => (typeof value === 'string' ? value : null))
    const { lengths, readable, index } = fetches[n]!
    const reply = index >= 0 ? values[index] : undefined
    const read = reply?.ok && Array.isArray(reply.value) ? (reply.value as unknown[]) : []
    const fields = big.map((field, b): BigField => {
      if (lengths[b]! > FIELD_READ_LIMIT) return { tooLarge: lengths[b]! }
      const value = read[readable.indexOf(field)]
      return typeof value === 'string' ? { value } : null
    })
    return { small, big: fields }
  })
}

export function bigText(field: BigField): string | undefined {
  if (!field) return undefined
  return 'value' in field ? field.value : `[${field.tooLarge} bytes, too large to show]`
}
