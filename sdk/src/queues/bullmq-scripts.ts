/**
 * Retry and delete for BullMQ failed jobs, without depending on bullmq. Each script is the subset
 * of BullMQ 5/6's own scripts that applies to a job in the failed set (reprocessJob with
 * resetAttemptsMade and resetAttemptsStarted; removeJob), so a real BullMQ worker and BullMQ's own
 * getters see exactly what `job.retry()` / `job.remove()` would have left.
 *
 * Since BullMQ 5 workers block on the `marker` sorted set, not on `wait`: a job pushed to `wait`
 * without `ZADD marker 0 "0"` sits there until some other job wakes a worker. A paused queue (or
 * one at its global concurrency) gets no marker; resuming adds it.
 *
 * Return codes: 1 done, -1 job hash missing, -2 locked by a worker, -3 not in the failed set,
 * -4 part of a flow with children (delete refuses; BullMQ would remove the whole subtree).
 */
import { luaScript } from './scripts.js'

const HELD = `
local function isHeld(metaKey, activeKey)
  local meta = redis.call("HMGET", metaKey, "paused", "concurrency")
  if meta[1] then return true end
  if meta[2] then return redis.call("LLEN", activeKey) >= tonumber(meta[2]) end
  return false
end
`

/**
 * KEYS: job, events, failed, wait, meta, active, marker, prioritized, pc
 * ARGV: jobId
 */
export const BULLMQ_RETRY = luaScript(
  `${HELD}
local rcall = redis.call
local jobKey, jobId = KEYS[1], ARGV[1]
if not rcall("ZSCORE", KEYS[3], jobId) then return -3 end
if rcall("EXISTS", jobKey) == 0 then return -1 end
if rcall("EXISTS", jobKey .. ":lock") == 1 then return -2 end

rcall("ZREM", KEYS[3], jobId)
rcall("HDEL", jobKey, "finishedOn", "processedOn", "failedReason", "atm", "ats")

local held = isHeld(KEYS[5], KEYS[6])
local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
if priority == 0 then
  local push = "LPUSH"
  local opts = rcall("HGET", jobKey, "opts")
  if opts then
    local ok, decoded = pcall(cjson.decode, opts)
    if ok and type(decoded) == "table" and decoded["lifo"] == true then push = "RPUSH" end
  end
  rcall(push, KEYS[4], jobId)
else
  local counter = rcall("INCR", KEYS[9])
  rcall("ZADD", KEYS[8], priority * 0x100000000 + counter % 0x100000000, jobId)
end
if not held then rcall("ZADD", KEYS[7], 0, "0") end

local parentKey = rcall("HGET", jobKey, "parentKey")
if parentKey and rcall("EXISTS", parentKey) == 1 then
  if rcall("ZREM", parentKey .. ":unsuccessful", jobKey) == 1 or rcall("HDEL", parentKey .. ":failed", jobKey) == 1 then
    rcall("SADD", parentKey .. ":dependencies", jobKey)
  end
end

local maxEvents = rcall("HGET", KEYS[5], "opts.maxLenEvents") or 10000
rcall("XADD", KEYS[2], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId, "prev", "failed")
return 1
`,
  9,
)

/**
 * KEYS: job, failed, events, meta
 * ARGV: jobId, queue base (`{prefix}:{queue}:`)
 */
export const BULLMQ_DELETE = luaScript(
  `${HELD}
local rcall = redis.call
local jobKey, jobId, base = KEYS[1], ARGV[1], ARGV[2]
if not rcall("ZSCORE", KEYS[2], jobId) then return -3 end
if rcall("EXISTS", jobKey .. ":lock") == 1 then return -2 end
if rcall("EXISTS", jobKey .. ":dependencies", jobKey .. ":processed", jobKey .. ":failed", jobKey .. ":unsuccessful") > 0 then
  return -4
end

rcall("ZREM", KEYS[2], jobId)
local attributes = rcall("HMGET", jobKey, "parentKey", "deid")

-- the last pending child leaving its parent moves the parent to wait (removeParentDependencyKey)
local parentKey = attributes[1]
if parentKey and parentKey ~= "" and rcall("EXISTS", parentKey) == 1 then
  local dependencies = parentKey .. ":dependencies"
  if rcall("SREM", dependencies, jobKey) == 1 and rcall("SCARD", dependencies) == 0 then
    local parentId = string.match(parentKey, ".*:(.*)")
    local parentBase = string.sub(parentKey, 1, #parentKey - #parentId)
    if rcall("ZREM", parentBase .. "waiting-children", parentId) == 1 then
      rcall("RPUSH", parentBase .. "wait", parentId)
      if not isHeld(parentBase .. "meta", parentBase .. "active") then rcall("ZADD", parentBase .. "marker", 0, "0") end
      rcall("XADD", parentBase .. "events", "*", "event", "waiting", "jobId", parentId, "prev", "waiting-children")
    end
  end
end

local deduplicationId = attributes[2]
if deduplicationId then
  local deduplicationKey = base .. "de:" .. deduplicationId
  if rcall("GET", deduplicationKey) == jobId then rcall("DEL", deduplicationKey, base .. "dn:" .. deduplicationId) end
end

rcall("DEL", jobKey, jobKey .. ":logs")
local maxEvents = rcall("HGET", KEYS[4], "opts.maxLenEvents") or 10000
rcall("XADD", KEYS[3], "MAXLEN", "~", maxEvents, "*", "event", "removed", "jobId", jobId, "prev", "failed")
return 1
`,
  4,
)

export function bullmqScriptError(code: unknown, jobId: string): Error | null {
  switch (code) {
    case 1:
      return null
    case -1:
      return new Error(`job ${jobId} no longer exists`)
    case -2:
      return new Error(`job ${jobId} is locked by a worker`)
    case -3:
      return new Error(`job ${jobId} is not failed`)
    case -4:
      return new Error(`job ${jobId} has child jobs; remove its flow from the application`)
    default:
      return new Error(`job ${jobId}: unexpected script result ${String(code)}`)
  }
}
