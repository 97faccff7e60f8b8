/**
 * Folding slow entries into per-bucket aggregates, atomic in Redis and idempotent, because every
 * console replica reads the same streams and a restart backfills what it read before:
 * - an entry is folded only if its stream id is new to the service's `folded` set (ZADD NX), so a
 *   second replica, or the same one after a restart, folds nothing twice;
 * - the set keeps the newest FOLDED_KEPT ids (the streams hold about 1,000); trimming records the
 *   highest id it removed as the floor, and an id at or under the floor counts as folded. So memory
 *   stays bounded, and the cost is that an entry more than FOLDED_KEPT entries older than the
 *   newest one folded is never counted (a deep backfill of a stream nobody read for a while).
 * Each entry goes into two buckets, its 5-minute one and its hour (server/slow/windows.ts reads
 * them). Per bucket and (kind, name): `|n` count, `|x` largest ms, `|t` latest timestamp, `|h<i>`
 * histogram counts (server/slow/histogram.ts). A bucket takes at most `max names` distinct names;
 * an entry of a further name is counted in `#dropped` instead, so the page can say so.
 *
 * KEYS: folded set, floor, then the bucket keys the entries name by index.
 * ARGV: TTL ms, max names per bucket, folded ids kept, then per entry: id, id ms, id sequence,
 * index of its 5-minute key, index of its hour key, `kind|name`, duration ms, histogram index,
 * timestamp. Replies { folded, dropped }.
 */
import type { Slot } from '../redis/batch.js'
import type { RedisClient } from '../redis/client.js'
import type { SlotGroupedBatch } from '../redis/shards.js'

const SCRIPT = `
local folded, floor_key = KEYS[1], KEYS[2]
local ttl, max_names, kept = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local floor_ms, floor_seq = -1, -1
local floor = redis.call('GET', floor_key)
if floor then
  local dash = string.find(floor, '-', 1, true)
  if dash then floor_ms, floor_seq = tonumber(string.sub(floor, 1, dash - 1)) or -1, tonumber(string.sub(floor, dash + 1)) or -1 end
end

local function fold(key, base, duration, index, timestamp)
  if redis.call('HINCRBY', key, base .. '|n', 1) == 1 then
    if redis.call('HINCRBY', key, '#names', 1) > max_names then
      redis.call('HDEL', key, base .. '|n')
      redis.call('HINCRBY', key, '#names', -1)
      redis.call('HINCRBY', key, '#dropped', 1)
      redis.call('PEXPIRE', key, ttl)
      return 0
    end
  end
  redis.call('HINCRBY', key, base .. '|h' .. index, 1)
  local top = tonumber(redis.call('HGET', key, base .. '|x'))
  if not top or tonumber(duration) > top then redis.call('HSET', key, base .. '|x', duration) end
  local last = tonumber(redis.call('HGET', key, base .. '|t'))
  if not last or tonumber(timestamp) > last then redis.call('HSET', key, base .. '|t', timestamp) end
  redis.call('PEXPIRE', key, ttl)
  return 1
end

local added, dropped = 0, 0
for i = 4, #ARGV, 9 do
  local id, ms, seq = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local above = ms > floor_ms or (ms == floor_ms and seq > floor_seq)
  if above and redis.call('ZADD', folded, 'NX', ms, id) == 1 then
    added = added + 1
    local base, duration, index, timestamp = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
    if fold(KEYS[tonumber(ARGV[i + 3])], base, duration, index, timestamp) == 0 then dropped = dropped + 1 end
    fold(KEYS[tonumber(ARGV[i + 4])], base, duration, index, timestamp)
  end
end

local size = redis.call('ZCARD', folded)
if size > kept then
  local removed = redis.call('ZRANGE', folded, 0, size - kept - 1)
  for _, id in ipairs(removed) do
    local dash = string.find(id, '-', 1, true)
    local ms, seq = tonumber(string.sub(id, 1, (dash or 0) - 1)) or -1, tonumber(dash and string.sub(id, dash + 1) or '') or 0
    if ms > floor_ms or (ms == floor_ms and seq > floor_seq) then floor_ms, floor_seq = ms, seq end
  end
  redis.call('ZREMRANGEBYRANK', folded, 0, size - kept - 1)
  redis.call('SET', floor_key, floor_ms .. '-' .. floor_seq, 'PX', ttl)
elseif floor then
  redis.call('PEXPIRE', floor_key, ttl)
end
if size > 0 then redis.call('PEXPIRE', folded, ttl) end
return { added, dropped }
`

const COMMAND = 'zenithFoldSlow'

/** stream ids remembered per service; a little over the streams' documented cap of about 1,000 */
export const FOLDED_KEPT = 1_500

export interface FoldEntry {
  readonly id: string
  readonly fiveMinuteKey: string
  readonly hourKey: string
  /** `kind|name` */
  readonly base: string
  readonly durationMs: number
  readonly histogramIndex: number
  readonly timestamp: number
}

export interface FoldCall {
  readonly foldedKey: string
  readonly floorKey: string
  readonly ttlMs: number
  readonly maxNames: number
  readonly entries: readonly FoldEntry[]
}

export function defineFold(redis: Pick<RedisClient, 'defineCommand'>): void {
  redis.defineCommand(COMMAND, { lua: SCRIPT })
}

type ScriptPipeline = Record<typeof COMMAND, (numberOfKeys: number, ...args: (string | number)[]) => unknown>

export function queueFold(batch: SlotGroupedBatch, call: FoldCall): Slot<unknown> {
  const bucketKeys: string[] = []
  const indexOf = new Map<string, number>()
  const keyIndex = (key: string) => {
    let index = indexOf.get(key)
    if (index === undefined) {
      bucketKeys.push(key)
      // KEYS is 1-based in Lua, after the folded set and the floor
      index = bucketKeys.length + 2
      indexOf.set(key, index)
    }
    return index
  }
  const args: (string | number)[] = [call.ttlMs, call.maxNames, FOLDED_KEPT]
  for (const entry of call.entries) {
    const [ms = '0', seq = '0'] = entry.id.split('-')
    args.push(entry.id, ms, seq, keyIndex(entry.fiveMinuteKey), keyIndex(entry.hourKey), entry.base, String(entry.durationMs), entry.histogramIndex, entry.timestamp)
  }
  const keys = [call.foldedKey, call.floorKey, ...bucketKeys]
  return batch.add(call.foldedKey, (pipeline) => (pipeline as unknown as ScriptPipeline)[COMMAND](keys.length, ...keys, ...args))
}
