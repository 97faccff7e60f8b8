/**
 * Jobs of a discovered Laravel Redis queue, read on demand and read-only. Laravel keeps in Redis
 * only what has not finished: the pending list `{prefix}queues:{name}` (RPUSH, LPOP: the newest
 * at the tail), `:delayed` scored by when a job becomes due and `:reserved` (running) scored by
 * when its reservation expires, both in Unix seconds. Failed and completed jobs live in the
 * application's database: those states answer with an `error`.
 *
 * Every member is a whole job payload, which can be megabytes: one read-only script (EVAL_RO)
 * reads the page and hands back each payload only when it is short enough to parse, else its
 * size, so a page costs at most pageSize × LARAVEL_PAYLOAD_PARSE_MAX bytes on the wire.
 */
import { laravelPayload, laravelPushedAt, LARAVEL_PAYLOAD_PARSE_MAX } from '@gravito/quasar/layouts'
import { JOB_RECORD_LIMITS } from '@gravito/quasar/protocol'
import type { RedisClient } from '../redis/client.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import { laravelKeys } from '../redis/keys.js'
import { LIVE_JOBS_PAGE_SIZE, type LiveJob, type LiveJobPage, type LiveJobState } from './live-jobs.js'
import { truncate } from './text.js'

const LARAVEL_STATES: Partial<Record<LiveJobState, { key: 'list' | 'delayed' | 'reserved'; type: 'list' | 'zset' }>> = {
  waiting: { key: 'list', type: 'list' },
  delayed: { key: 'delayed', type: 'zset' },
  active: { key: 'reserved', type: 'zset' },
}

export function laravelLists(state: LiveJobState): boolean {
  return LARAVEL_STATES[state] !== undefined
}

// KEYS: the list or sorted set. ARGV: 'list' | 'zset', start, stop, cap.
// {total, payload-or-size, score, …}: newest first; a payload over the cap comes back as its byte size.
const PAGE = `
local total, items
local start, stop, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[1] == 'list' then
  total = redis.call('LLEN', KEYS[1])
  items = redis.call('LRANGE', KEYS[1], -stop - 1, -start - 1)
else
  total = redis.call('ZCARD', KEYS[1])
  items = redis.call('ZREVRANGE', KEYS[1], start, stop, 'WITHSCORES')
end
local out = { total }
if ARGV[1] == 'list' then
  for i = #items, 1, -1 do
    local item = items[i]
    if #item > cap then table.insert(out, #item) else table.insert(out, item) end
    table.insert(out, '')
  end
else
  for i = 1, #items, 2 do
    local item = items[i]
    if #item > cap then table.insert(out, #item) else table.insert(out, item) end
    table.insert(out, items[i + 1])
  end
end
return out`

export function createLaravelLiveReader(redis: RedisClient) {
  async function list(prefix: string, queue: string, state: LiveJobState, page: number, pageSize = LIVE_JOBS_PAGE_SIZE): Promise<LiveJobPage> {
    const empty: LiveJobPage = { jobs: [], state, page, pageSize, total: null }
    const where = LARAVEL_STATES[state]
    if (!where) return { ...empty, error: `Laravel keeps no ${state} jobs in Redis` }
    const key = laravelKeys(prefix, queue)[where.key]
    const start = (page - 1) * pageSize
    let reply: unknown[]
    try {
      reply = (await redis.call('EVAL_RO', PAGE, 1, key, where.type, start, start + pageSize - 1, LARAVEL_PAYLOAD_PARSE_MAX)) as unknown[]
    } catch (error) {
      if (isKeyError(error)) return { ...empty, error: `${key}: ${shortReason(error)}` }
      throw error
    }
    const jobs: LiveJob[] = []
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const position = start + (i - 1) / 2
      const score = where.type === 'zset' ? Number(reply[i + 1]) : null
      jobs.push(rowOf(reply[i], state, score, position))
    }
    return { ...empty, jobs, total: Number(reply[0]) || 0 }
  }

  return { list }
}

/**
 * A row from one payload. A payload too large or not Laravel's still gets its row (it is in the
 * queue and counted), under a name that says why, and its position as id when it names none.
 */
function rowOf(item: unknown, state: LiveJobState, score: number | null, position: number): LiveJob {
  const row: LiveJob = { id: `#${position + 1}`, name: null, state, attemptsMade: null, addedAt: null, startedAt: null, finishedAt: null }
  if (typeof item === 'number') {
    row.name = `[${item} bytes, too large to show]`
    return row
  }
  const payload = typeof item === 'string' ? laravelPayload(item) : null
  if (!payload) {
    row.name = '[not a Laravel job payload]'
    return row
  }
  const id = [payload.uuid, payload.id].find((value) => typeof value === 'string' && value !== '')
  if (typeof id === 'string') row.id = truncate(id, JOB_RECORD_LIMITS.id)
  const name = typeof payload.displayName === 'string' ? payload.displayName : typeof payload.job === 'string' ? payload.job : null
  row.name = name === null ? null : truncate(name, JOB_RECORD_LIMITS.name)
  const attempts = Number(payload.attempts)
  if (Number.isInteger(attempts) && attempts >= 0) row.attemptsMade = attempts
  row.addedAt = laravelPushedAt(payload) ?? null
  const seconds = score !== null && Number.isFinite(score) && score > 0 ? score * 1000 : null
  if (state === 'delayed') row.dueAt = seconds
  // a reserved job's score is when its reservation runs out; when it started is not kept
  return row
}
