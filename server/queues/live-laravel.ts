/**
 * Jobs of a discovered Laravel Redis queue, read on demand and read-only, by the rules the SDK's
 * LIST_JOBS answers follow too (`@gravito/quasar/layouts`): the pending list newest first,
 * `:delayed` and `:reserved` (active) from the highest score, each page read by one read-only
 * script (EVAL_RO) that leaves oversized payloads in Redis. Failed and completed jobs live in the
 * application's database: those states answer with an `error`.
 */
import { LARAVEL_PAGE, LARAVEL_PAYLOAD_PARSE_MAX, laravelPageRows, laravelStateKey, laravelUnlistedReason } from '@gravito/quasar/layouts'
import type { RedisClient } from '../redis/client.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import { laravelKeys } from '../redis/keys.js'
import { LIVE_JOBS_PAGE_SIZE, type LiveJobPage, type LiveJobState } from './live-jobs.js'

export function createLaravelLiveReader(redis: RedisClient) {
  async function list(prefix: string, queue: string, state: LiveJobState, page: number, pageSize = LIVE_JOBS_PAGE_SIZE): Promise<LiveJobPage> {
    const empty: LiveJobPage = { jobs: [], state, page, pageSize, total: null }
    const where = laravelStateKey(laravelKeys(prefix, queue), state)
    if (!where) return { ...empty, error: laravelUnlistedReason(state) }
    const start = (page - 1) * pageSize
    let reply: unknown
    try {
      reply = await redis.call('EVAL_RO', LARAVEL_PAGE, 1, where.key, where.type, start, start + pageSize - 1, LARAVEL_PAYLOAD_PARSE_MAX)
    } catch (error) {
      if (isKeyError(error)) return { ...empty, error: `${where.key}: ${shortReason(error)}` }
      throw error
    }
    return { ...empty, ...laravelPageRows(reply, state, where.type, start) }
  }

  return { list }
}
