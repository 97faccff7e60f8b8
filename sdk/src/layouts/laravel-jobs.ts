/**
 * How a Laravel Redis queue's jobs are listed, for the SDK's LIST_JOBS answers and the console's
 * direct reads of discovered queues alike. Laravel keeps in Redis only what has not finished: the
 * pending list (RPUSH, LPOP: the newest at the tail), `:delayed` scored by when a job becomes due
 * and `:reserved` (running) scored by when its reservation expires, in Unix seconds.
 *
 * Every member is a whole payload, which can be megabytes: one script reads the page and hands
 * back each payload only when it is short enough to parse, else its size, so a page costs at most
 * pageSize × LARAVEL_PAYLOAD_PARSE_MAX bytes on the wire.
 */
import { cutText, JOB_RECORD_LIMITS, type ListedJob, type ListJobState } from '../protocol/index.js'
import type { LaravelKeys } from './keys.js'
import { laravelPayload, laravelPushedAt } from './laravel.js'

const LARAVEL_STATES: Partial<Record<ListJobState, { key: 'list' | 'delayed' | 'reserved'; type: 'list' | 'zset' }>> = {
  waiting: { key: 'list', type: 'list' },
  delayed: { key: 'delayed', type: 'zset' },
  active: { key: 'reserved', type: 'zset' },
}

/** The key and kind that hold a state's jobs, or null when Laravel keeps none of them in Redis. */
export function laravelStateKey(keys: LaravelKeys, state: ListJobState): { key: string; type: 'list' | 'zset' } | null {
  const where = LARAVEL_STATES[state]
  return where ? { key: keys[where.key], type: where.type } : null
}

export function laravelUnlistedReason(state: ListJobState): string {
  return `Laravel keeps no ${state} jobs in Redis`
}

// KEYS: the list or sorted set. ARGV: 'list' | 'zset', start, stop, cap.
// {total, payload-or-size, score, …}: newest first; a payload over the cap comes back as its byte size.
export const LARAVEL_PAGE = `
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

/** The page script's reply as rows, `start` being the page's first position. */
export function laravelPageRows(reply: unknown, state: ListJobState, type: 'list' | 'zset', start: number): { total: number; jobs: ListedJob[] } {
  if (!Array.isArray(reply)) return { total: 0, jobs: [] }
  const jobs: ListedJob[] = []
  for (let i = 1; i + 1 < reply.length; i += 2) {
    const score = type === 'zset' ? Number(reply[i + 1]) : null
    jobs.push(laravelJobRow(reply[i], state, score, start + (i - 1) / 2))
  }
  return { total: Number(reply[0]) || 0, jobs }
}

/**
 * A row from one payload. A payload too large or not Laravel's still gets its row (it is in the
 * queue and counted), under a name that says why, and its position as id when it names none.
 */
export function laravelJobRow(item: unknown, state: ListJobState, score: number | null, position: number): ListedJob {
  const row: ListedJob = { id: `#${position + 1}`, name: null, state, attemptsMade: null, addedAt: null, startedAt: null, finishedAt: null }
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
  if (typeof id === 'string') row.id = cutText(id, JOB_RECORD_LIMITS.id, '…')
  const name = typeof payload.displayName === 'string' ? payload.displayName : typeof payload.job === 'string' ? payload.job : null
  row.name = name === null ? null : cutText(name, JOB_RECORD_LIMITS.name, '…')
  const attempts = Number(payload.attempts)
  if (Number.isInteger(attempts) && attempts >= 0) row.attemptsMade = attempts
  row.addedAt = laravelPushedAt(payload) ?? null
  // a reserved job's score is when its reservation runs out; when it started is not kept
  if (state === 'delayed') row.dueAt = score !== null && Number.isFinite(score) && score > 0 ? score * 1000 : null
  return row
}
