/**
 * One read of a discovered queue's key, its reply kept in Redis when it holds a long string.
 * Discovery reads keys that anyone writing to this Redis chose: a `…:meta` hash whose `version`
 * is 10 MB, or a `wait` list whose tail id is, would cross the wire whole with a plain HMGET or
 * LINDEX on every read. The script runs the one read command and answers `{1, reply}` when every
 * string in the reply fits the cap, else `{0, longest}`: the reader then skips what depended on it
 * and says why, and nothing long is sent. Counts (LLEN, ZCARD) need no bound and go as they are.
 *
 * Sent as EVAL_RO (Redis 7), body and all: EVAL and EVALSHA declare their keys as written, so a
 * user allowed only to read a queue's keys (`%R~bull:*` in docs/security.md) is refused them, and
 * ioredis's script helper has no EVALSHA_RO. The cost is the body (about 400 bytes) per read on
 * the way in, and in Redis the command's own work plus a walk over its reply.
 */
import type { Read } from '@gravito/quasar/layouts'
import type { Slot } from '../redis/batch.js'
import type { SlotGroupedBatch } from '../redis/shards.js'

// KEYS[1]: the key. ARGV: cap (bytes), the read command, its arguments after the key.
const SCRIPT = `#!lua flags=no-writes
local cap = tonumber(ARGV[1])
local reply = redis.call(ARGV[2], KEYS[1], unpack(ARGV, 3))
local longest = 0
local function measure(value)
  if type(value) == 'string' then
    if #value > longest then longest = #value end
  elseif type(value) == 'table' then
    for _, item in ipairs(value) do measure(item) end
  end
end
measure(reply)
if longest > cap then return { 0, longest } end
return { 1, reply }`

/** Bytes of any one string a queue-level read hands back: far above an id, a version or a counter. */
export const TEXT_READ_CAP = 4 * 1024

/** A read's reply as the script gives it: the value, or how long the longest string was. */
export type Bounded<T> = { readonly fits: true; readonly value: T } | { readonly fits: false; readonly longest: number }

/** Queues `read` through the script; `boundedValue` unwraps its reply. */
export function queueBoundedRead(batch: SlotGroupedBatch, read: Read, cap = TEXT_READ_CAP): Slot<unknown> {
  return batch.add(read.key, (pipeline) => pipeline.call('EVAL_RO', SCRIPT, 1, read.key, cap, ...read.command))
}

/** The script's reply as a Bounded value; a reply of another shape is taken as over the cap. */
export function boundedValue<T>(reply: unknown): Bounded<T> {
  if (Array.isArray(reply) && reply[0] === 1) return { fits: true, value: reply[1] as T }
  return { fits: false, longest: Array.isArray(reply) && typeof reply[1] === 'number' ? reply[1] : Number.NaN }
}

/** The reason a read was skipped, in the words the bad-data log shows. */
export function overCapReason(longest: number, cap = TEXT_READ_CAP): string {
  return `a value of ${longest} bytes, over the ${cap} read`
}
