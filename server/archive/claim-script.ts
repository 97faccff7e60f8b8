/**
 * One bounded read of a service's archive stream for this console's consumer, cut on the Redis
 * side. An agent may append entries of any size to its own stream: a plain XREADGROUP COUNT 500
 * of 10 MB entries would send 5 GB. This script takes entries one at a time and returns an
 * oversized one as its id alone (to be skipped and acknowledged), stopping once the call's reply
 * budget is spent, so the reply is at most `budget` + one entry of `entry bytes`.
 *
 * It creates the consumer group when missing (from id 0: the whole stream is archived), then reads
 * in three phases, all sharing `count` and the budget:
 * 1. this consumer's own pending entries: those read by a batch whose store write failed, so they
 *    are written again before anything new (at least once);
 * 2. entries idle for `min idle` ms in another consumer's list (XAUTOCLAIM): a console that died
 *    between reading and acknowledging;
 * 3. new entries (`>`).
 * and ends with the group's lag and pending count for the status.
 */
import { z } from 'zod'
import type { RedisClient } from '../redis/client.js'
import type { Slot } from '../redis/batch.js'
import type { SlotGroupedBatch } from '../redis/shards.js'

/**
 * KEYS[1] the stream. ARGV: group, consumer, count, budget (reply bytes), entry bytes, min idle
 * (ms), claim steps (XAUTOCLAIM calls at most, each scanning at most 10 pending entries), raw bytes
 * (entry bytes Redis copies per call; the first entry is always read).
 * Replies { entries, lag (-1 unknown), pending, created (1 when the group was made) }; each entry
 * is { id, raw bytes, kind (0 read, 1 oversized: no fields, 2 deleted before it was read), fields }.
 * A missing key reads empty; a key of another type is an error reply naming its type.
 *
 * Cost in Redis: XREADGROUP and XAUTOCLAIM with COUNT 1, at most `count` entries copied into Lua
 * and only while the bytes copied stay under `raw bytes`: an oversized entry costs one copy.
 */
const SCRIPT = `
local key = KEYS[1]
local group, consumer = ARGV[1], ARGV[2]
local count, budget, entry_limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local min_idle, claim_steps, raw_limit = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local HEADER = 16

local kind = redis.call('TYPE', key)['ok']
if kind == 'none' then return { {}, -1, 0, 0 } end
if kind ~= 'stream' then
  return redis.error_reply('WRONGTYPE key holds a ' .. kind .. ', not a stream')
end

local function group_info()
  for _, flat in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local info = {}
    for i = 1, #flat, 2 do info[flat[i]] = flat[i + 1] end
    if info['name'] == group then return info end
  end
  return nil
end

local created = 0
if not group_info() then
  redis.call('XGROUP', 'CREATE', key, group, '0')
  created = 1
end

local entries, spent, copied = {}, 0, 0
local function full()
  return #entries >= count or spent >= budget or (#entries > 0 and copied >= raw_limit)
end
local function take(id, fields)
  if not fields then
    entries[#entries + 1] = { id, 0, 2, {} }
    spent = spent + #id + 4 * HEADER
    return
  end
  local raw = 0
  for i = 1, #fields do raw = raw + #fields[i] end
  copied = copied + raw
  if raw > entry_limit then
    entries[#entries + 1] = { id, raw, 1, {} }
    spent = spent + #id + 4 * HEADER
    return
  end
  entries[#entries + 1] = { id, raw, 0, fields }
  spent = spent + #id + (4 + #fields) * HEADER + raw
end

local cursor = '0'
while not full() do
  local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', key, cursor)
  local list = reply and reply[1] and reply[1][2]
  if not list or #list == 0 then break end
  take(list[1][1], list[1][2])
  cursor = list[1][1]
end

local start = '0-0'
for _ = 1, claim_steps do
  if full() then break end
  local reply = redis.call('XAUTOCLAIM', key, group, consumer, min_idle, start, 'COUNT', 1)
  if #reply[2] > 0 then take(reply[2][1][1], reply[2][1][2]) end
  start = reply[1]
  if start == '0-0' then break end
end

while not full() do
  local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', key, '>')
  local list = reply and reply[1] and reply[1][2]
  if not list or #list == 0 then break end
  take(list[1][1], list[1][2])
end

local info = group_info() or {}
local lag = info['lag']
if type(lag) ~= 'number' then lag = -1 end
return { entries, lag, tonumber(info['pending']) or 0, created }
`

const COMMAND = 'zenithClaimArchive'

export interface ClaimBounds {
  /** entries per call, all phases together */
  readonly count: number
  /** reply bytes per call (ids, names and values, with an estimate of the protocol's headers) */
  readonly callBytes: number
  /** an entry whose names and values take more bytes than this comes back as its id alone */
  readonly entryBytes: number
  /** an entry pending this long in another consumer's list is taken over */
  readonly claimIdleMs: number
  /** XAUTOCLAIM calls per call at most (each looks at up to 10 pending entries) */
  readonly claimSteps: number
  /** raw entry bytes Redis copies per call before it stops */
  readonly rawBytes: number
}

export type ClaimedEntry =
  { readonly id: string; readonly kind: 'read'; readonly fields: readonly string[] } | { readonly id: string; readonly kind: 'oversized'; readonly rawBytes: number } | { readonly id: string; readonly kind: 'deleted' }

export interface ClaimRead {
  readonly entries: readonly ClaimedEntry[]
  /** entries added and not yet delivered to the group; null when Redis cannot tell (after a trim or XDEL) */
  readonly lag: number | null
  /** delivered and not yet acknowledged, every consumer together */
  readonly pending: number
  readonly created: boolean
}

/** Makes the script callable on `redis` and its pipelines (EVALSHA, EVAL once per connection). */
export function defineClaimScript(redis: Pick<RedisClient, 'defineCommand'>): void {
  redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: SCRIPT })
}

type ScriptPipeline = Record<typeof COMMAND, (key: string, ...args: (string | number)[]) => unknown>

export function queueClaim(batch: SlotGroupedBatch, key: string, group: string, consumer: string, bounds: ClaimBounds): Slot<unknown> {
  const args = [group, consumer, bounds.count, bounds.callBytes, bounds.entryBytes, bounds.claimIdleMs, bounds.claimSteps, bounds.rawBytes]
  return batch.add(key, (pipeline) => (pipeline as unknown as ScriptPipeline)[COMMAND](key, ...args))
}

const entrySchema = z.tuple([z.string().min(1), z.number().int().nonnegative(), z.union([z.literal(0), z.literal(1), z.literal(2)]), z.array(z.string())])
const readSchema = z.tuple([z.array(entrySchema), z.number().int(), z.number().int().nonnegative(), z.union([z.literal(0), z.literal(1)])])

/** The script's reply, or null if it has another shape (a script of another version answered). */
export function parseClaimRead(reply: unknown): ClaimRead | null {
  const parsed = readSchema.safeParse(reply)
  if (!parsed.success) return null
  const [entries, lag, pending, created] = parsed.data
  return { entries: entries.map(toEntry), lag: lag < 0 ? null : lag, pending, created: created === 1 }
}

function toEntry([id, rawBytes, kind, fields]: z.infer<typeof entrySchema>): ClaimedEntry {
  if (kind === 1) return { id, kind: 'oversized', rawBytes }
  if (kind === 2) return { id, kind: 'deleted' }
  return { id, kind: 'read', fields }
}
