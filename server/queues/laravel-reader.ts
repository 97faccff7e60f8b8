/**
 * Counts of discovered Laravel queues, as Laravel's Redis driver lays them out: pending payloads
 * in the list `{prefix}queues:{name}` (RPUSH, popped from the left, so the oldest is first),
 * delayed jobs in `:delayed` and running ones in `:reserved` (sorted sets). Failed jobs live in
 * the application's database, out of reach: `failed` is unknown (null).
 *
 * A list named like a queue is taken for a Laravel queue only if its oldest payload looks like one
 * (a JSON object naming its `job` or `displayName`), so an unrelated `queues:…` list stays out.
 * The oldest waiting age comes from the payload's `pushedAt` (Horizon) or `createdAt` (Laravel 11+).
 */
import type { Redis } from 'ioredis'
import { MAX_VALUE_BYTES, parseAgentJson } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { laravelKeys } from '../redis/keys.js'
import type { DiscoveredRef } from './discovery.js'
import { isKeyError, shortReason } from './redis-errors.js'

export interface LaravelReading {
  waiting: number
  active: number
  delayed: number
  oldestWaitingMs?: number
}

const PER_QUEUE = 4

export function createLaravelReader(redis: Redis, badData: BadDataLog) {
  return async function readLaravel(refs: readonly DiscoveredRef[], now: number): Promise<Map<DiscoveredRef, LaravelReading>> {
    const result = new Map<DiscoveredRef, LaravelReading>()
    if (refs.length === 0) return result
    const pipeline = redis.pipeline()
    for (const { prefix, queue } of refs) {
      pipeline.llen(laravelKeys.list(prefix, queue)).zcard(laravelKeys.reserved(prefix, queue)).zcard(laravelKeys.delayed(prefix, queue)).lindex(laravelKeys.list(prefix, queue), 0)
    }
    const replies = (await pipeline.exec()) ?? []
    refs.forEach((ref, q) => {
      const own = replies.slice(q * PER_QUEUE, (q + 1) * PER_QUEUE)
      const label = laravelKeys.list(ref.prefix, ref.queue)
      const broken = own.find(([error]) => error)?.[0]
      if (broken) {
        if (!isKeyError(broken)) throw broken
        // a `queues:…` key of another type is some other application's key, not bad agent data
        if (!/^WRONGTYPE/.test(broken.message)) badData.report(label, shortReason(broken))
        return
      }
      const [waiting, active, delayed] = own.slice(0, 3).map(([, value]) => Number(value) || 0) as [number, number, number]
      const oldest = own[3]![1]
      const reading: LaravelReading = { waiting, active, delayed }
      if (typeof oldest === 'string') {
        const payload = laravelPayload(oldest)
        if (!payload) return
        const pushedAt = Number(payload.pushedAt ?? payload.createdAt)
        if (Number.isFinite(pushedAt) && pushedAt > 0) reading.oldestWaitingMs = Math.max(0, now - pushedAt * 1000)
      }
      result.set(ref, reading)
    })
    return result
  }
}

function laravelPayload(raw: string): Record<string, unknown> | null {
  const parsed = parseAgentJson(raw, MAX_VALUE_BYTES)
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return null
  const payload = parsed.value as Record<string, unknown>
  return typeof payload.job === 'string' || typeof payload.displayName === 'string' ? payload : null
}
