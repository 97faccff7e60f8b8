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
import { createBatch, type Slot } from '../redis/batch.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import { laravelKeys } from '../redis/keys.js'
import type { DiscoveredRef } from './discovery.js'

export interface LaravelReading {
  waiting: number
  active: number
  delayed: number
  oldestWaitingMs?: number
}

export function createLaravelReader(redis: Redis, badData: BadDataLog) {
  /**
   * A reply on one of the queue's keys. A `queues:…` key of another type is some other
   * application's key, not bad agent data: skipped without a report. Other key errors (NOPERM) are
   * reported under the key; anything else is thrown.
   */
  function read<T>({ key, slot }: { key: string; slot: Slot<T> }): { ok: true; value: T } | { ok: false } {
    const reply = slot.reply
    if (reply.ok) return reply
    if (!isKeyError(reply.error)) throw reply.error
    if (!/^WRONGTYPE/.test(reply.error.message)) badData.report(key, shortReason(reply.error))
    return { ok: false }
  }

  return async function readLaravel(refs: readonly DiscoveredRef[], now: number): Promise<Map<DiscoveredRef, LaravelReading>> {
    const result = new Map<DiscoveredRef, LaravelReading>()
    if (refs.length === 0) return result
    const batch = createBatch(redis)
    const asked = refs.map((ref) => {
      const list = laravelKeys.list(ref.prefix, ref.queue)
      const reserved = laravelKeys.reserved(ref.prefix, ref.queue)
      const delayed = laravelKeys.delayed(ref.prefix, ref.queue)
      return {
        ref,
        waiting: { key: list, slot: batch.add<number>((p) => p.llen(list)) },
        active: { key: reserved, slot: batch.add<number>((p) => p.zcard(reserved)) },
        delayed: { key: delayed, slot: batch.add<number>((p) => p.zcard(delayed)) },
        oldest: { key: list, slot: batch.add<string | null>((p) => p.lindex(list, 0)) },
      }
    })
    await batch.exec()
    for (const { ref, waiting, active, delayed, oldest } of asked) {
      // every reply is read before skipping, so each bad key is reported
      const [pending, reserved, later, head] = [read(waiting), read(active), read(delayed), read(oldest)] as const
      if (!pending.ok || !reserved.ok || !later.ok || !head.ok) continue
      const reading: LaravelReading = { waiting: pending.value, active: reserved.value, delayed: later.value }
      if (typeof head.value === 'string') {
        const payload = laravelPayload(head.value)
        if (!payload) continue
        const pushedAt = Number(payload.pushedAt ?? payload.createdAt)
        if (Number.isFinite(pushedAt) && pushedAt > 0) reading.oldestWaitingMs = Math.max(0, now - pushedAt * 1000)
      }
      result.set(ref, reading)
    }
    return result
  }
}

function laravelPayload(raw: string): Record<string, unknown> | null {
  const parsed = parseAgentJson(raw, MAX_VALUE_BYTES)
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return null
  const payload = parsed.value as Record<string, unknown>
  return typeof payload.job === 'string' || typeof payload.displayName === 'string' ? payload : null
}
