/**
 * Bounded reads of one slow stream, cut on the Redis side. An agent may append entries of any size
 * to its own stream (10 MB each was seen): a plain XRANGE sends them whole, the read times out,
 * the cursor never moves, and Redis holds the replies in its output buffers until it runs out of
 * memory. This script reads the stream one entry at a time and returns each entry's id with its
 * fields cut to a byte bound, stopping once the call's reply budget is spent, so no oversized
 * value ever crosses the wire and every call that finds an entry returns at least one id.
 *
 * One call has two phases: entries newer than `after` (oldest first: the cursor moves forward
 * without gaps), then, only once those are all read, entries older than `before` (newest first:
 * the backfill of a service's history). Both share the call's entry count and byte budget.
 */
import { z } from 'zod'
import type { RedisClient } from '../redis/client.js'
import type { Slot } from '../redis/batch.js'
import type { SlotGroupedBatch } from '../redis/shards.js'

/**
 * KEYS[1] the stream. ARGV: after ('' skips the forward phase), before ('' skips the backfill,
 * '+' starts at the newest entry), count, call budget, value bytes, name bytes, fields per entry,
 * raw bytes. Replies { newer, newerDone, older, olderDone }; each entry is { id, raw bytes, kept
 * bytes, flat fields }. A key of another type is an error reply naming its type; a missing key
 * reads empty.
 *
 * Reply size: at most `budget` bytes of ids, names and values (RESP headers estimated at 16 bytes
 * per string); the first entry is cut to fit the budget, a later one that would not fit ends the
 * call unread. Work in Redis: entries are copied into Lua one by one, at most `count` of them and
 * only while the raw bytes copied stay under `raw bytes` (the first entry is always read). Copying
 * is what an oversized entry costs Redis (about 130 ms for 10 MB here, the same as a plain XRANGE
 * of it), so a hostile stream costs at most one such entry per tick. `no-writes` (Redis 7): the
 * script runs on a replica and while Redis is out of memory, as a plain read would.
 */
const SCRIPT = `#!lua flags=no-writes
local key = KEYS[1]
local after, before = ARGV[1], ARGV[2]
local count, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local value_bytes, name_bytes = tonumber(ARGV[5]), tonumber(ARGV[6])
local max_fields, raw_limit = tonumber(ARGV[7]), tonumber(ARGV[8])
local HEADER = 16

local kind = redis.call('TYPE', key)['ok']
if kind ~= 'stream' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE key holds a ' .. kind .. ', not a stream')
end

-- cut to n bytes without splitting a UTF-8 sequence: back over at most 3 continuation bytes
local function cut(s, n)
  if #s <= n then return s end
  if n <= 0 then return '' end
  local e = n
  for _ = 1, 3 do
    local b = string.byte(s, e + 1)
    if b and b >= 128 and b < 192 and e > 0 then e = e - 1 else break end
  end
  return string.sub(s, 1, e)
end

local function shape(fields, room)
  local flat, size, raw, kept = {}, 0, 0, 0
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1] or ''
    raw = raw + #name + #value
    local left = room - size - 2 * HEADER
    if #flat < 2 * max_fields and left > 0 then
      local n = cut(name, math.min(name_bytes, left))
      local v = cut(value, math.min(value_bytes, left - #n))
      flat[#flat + 1] = n
      flat[#flat + 1] = v
      size = size + #n + #v + 2 * HEADER
      kept = kept + #n + #v
    end
  end
  return flat, size, raw, kept
end

local taken, spent, copied = 0, 0, 0

-- reads entries from cursor on in one direction; returns them and whether the stream end was reached
local function phase(command, cursor, bound)
  local entries = {}
  while taken < count do
    if taken > 0 and copied >= raw_limit then return entries, 0 end
    local found = redis.call(command, key, cursor, bound, 'COUNT', 1)
    if #found == 0 then return entries, 1 end
    local id, fields = found[1][1], found[1][2]
    local room = budget - spent - #id - 3 * HEADER
    local flat, size, raw, kept = shape(fields, math.huge)
    if size > room then
      if taken > 0 then return entries, 0 end
      flat, size, raw, kept = shape(fields, room)
    end
    entries[#entries + 1] = { id, raw, kept, flat }
    taken = taken + 1
    spent = spent + #id + 3 * HEADER + size
    copied = copied + raw
    cursor = '(' .. id
  end
  return entries, 0
end

if kind == 'none' then return { {}, 1, {}, 1 } end
local newer, newer_done = {}, 1
if after ~= '' then newer, newer_done = phase('XRANGE', '(' .. after, '+') end
local older, older_done = {}, 0
if before == '' then
  older_done = 1
elseif newer_done == 1 then
  older, older_done = phase('XREVRANGE', before == '+' and '+' or '(' .. before, '-')
end
return { newer, newer_done, older, older_done }
`

const COMMAND = 'zenithReadSlowStream'

export interface StreamReadBounds {
  /** entries per call, both phases together */
  readonly count: number
  /** reply bytes per call (ids, names and values, with an estimate of the protocol's headers) */
  readonly callBytes: number
  /** bytes kept of each value; a conforming value (256 characters) always fits */
  readonly valueBytes: number
  /** bytes kept of each field name */
  readonly nameBytes: number
  /** field pairs kept per entry */
  readonly maxFields: number
  /** raw entry bytes Redis copies per call before it stops (the first entry is always read) */
  readonly rawBytes: number
}

/** Where a call starts: after the newest id read, and before the oldest one (or '+' for the first read). */
export interface StreamCursor {
  readonly after: string | null
  readonly before: string | null
}

export interface StreamEntry {
  readonly id: string
  /** the flat field list as cut: name, value, name, value, … */
  readonly fields: readonly string[]
  /** bytes of the entry's names and values as stored */
  readonly rawBytes: number
  /** bytes of the entry that did not cross the wire */
  readonly cutBytes: number
}

export interface StreamRead {
  /** oldest first */
  readonly newer: readonly StreamEntry[]
  /** no entry newer than the last one read */
  readonly newerDone: boolean
  /** newest first */
  readonly older: readonly StreamEntry[]
  /** no entry older than the last one read */
  readonly olderDone: boolean
}

/** Makes the script callable on `redis` and its pipelines (EVALSHA, EVAL once per connection). */
export function defineStreamRead(redis: Pick<RedisClient, 'defineCommand'>): void {
  redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: SCRIPT })
}

type ScriptPipeline = Record<typeof COMMAND, (key: string, ...args: (string | number)[]) => unknown>

export function queueStreamRead(batch: SlotGroupedBatch, key: string, cursor: StreamCursor, bounds: StreamReadBounds): Slot<unknown> {
  const args = [cursor.after ?? '', cursor.before ?? '', bounds.count, bounds.callBytes, bounds.valueBytes, bounds.nameBytes, bounds.maxFields, bounds.rawBytes]
  return batch.add(key, (pipeline) => (pipeline as unknown as ScriptPipeline)[COMMAND](key, ...args))
}

const byteCount = z.number().int().nonnegative()
const entrySchema = z.tuple([z.string().min(1), byteCount, byteCount, z.array(z.string())])
const readSchema = z.tuple([z.array(entrySchema), z.union([z.literal(0), z.literal(1)]), z.array(entrySchema), z.union([z.literal(0), z.literal(1)])])

/** The script's reply, or null if it has another shape (a script of another version answered). */
export function parseStreamRead(reply: unknown): StreamRead | null {
  const parsed = readSchema.safeParse(reply)
  if (!parsed.success) return null
  const [newer, newerDone, older, olderDone] = parsed.data
  return { newer: newer.map(toEntry), newerDone: newerDone === 1, older: older.map(toEntry), olderDone: olderDone === 1 }
}

function toEntry([id, rawBytes, keptBytes, fields]: z.infer<typeof entrySchema>): StreamEntry {
  return { id, fields, rawBytes, cutBytes: Math.max(0, rawBytes - keptBytes) }
}
