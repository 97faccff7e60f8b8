/**
 * Counts of discovered Laravel queues, read and counted by the SDK's layout module
 * (`@gravito/quasar/layouts`, the rules the SDK's laravel probe follows too): pending payloads in
 * the list `{prefix}queues:{name}`, delayed jobs in `:delayed`, running ones in `:reserved`.
 * Failed jobs live in the application's database, out of reach: `failed` is unknown (null).
 *
 * A list named like a queue is taken for a Laravel queue only if its oldest payload looks like one
 * (a JSON object naming its `job` or `displayName`), so an unrelated `queues:…` list stays out.
 * The oldest waiting age comes from the payload's `pushedAt` (Horizon) or `createdAt` (Laravel 11+),
 * read only when the payload is short enough to parse (./bounded-read.ts): a longer one leaves the
 * queue counted, its age unknown, and never crosses the wire.
 */
import type { RedisClient } from '../redis/client.js'
import { LARAVEL_PAYLOAD_PARSE_MAX, laravelPayload, laravelPushedAt, laravelReads } from '@gravito/quasar/layouts'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { Slot } from '../redis/batch.js'
import { pipelineBySlot } from '../redis/shards.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import { laravelKeys } from '../redis/keys.js'
import type { DiscoveredRef } from './drivers/contract.js'
import { boundedValue, queueBoundedRead } from './bounded-read.js'

export interface LaravelReading {
  waiting: number
  active: number
  delayed: number
  oldestWaitingMs?: number
}

export function createLaravelReader(redis: RedisClient, badData: BadDataLog) {
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
    const batch = pipelineBySlot(redis)
    const asked = refs.map((ref) => {
      const reads = laravelReads(laravelKeys(ref.prefix, ref.queue))
      return {
        ref,
        waiting: { key: reads.waiting.key, slot: batch.add<number>(reads.waiting.key, reads.waiting.enqueue) },
        active: { key: reads.active.key, slot: batch.add<number>(reads.active.key, reads.active.enqueue) },
        delayed: { key: reads.delayed.key, slot: batch.add<number>(reads.delayed.key, reads.delayed.enqueue) },
        // a payload can be megabytes: one too long to parse stays in Redis
        oldest: { key: reads.head.key, slot: queueBoundedRead(batch, reads.head, LARAVEL_PAYLOAD_PARSE_MAX) },
      }
    })
    await batch.exec()
    for (const { ref, waiting, active, delayed, oldest } of asked) {
      // every reply is read before skipping, so each bad key is reported
      const [pending, reserved, later, head] = [read(waiting), read(active), read(delayed), read(oldest)] as const
      if (!pending.ok || !reserved.ok || !later.ok || !head.ok) continue
      const reading: LaravelReading = { waiting: pending.value, active: reserved.value, delayed: later.value }
      const bounded = boundedValue<string | null>(head.value)
      // a head too long to read is still a queue: counted, its age unknown
      if (bounded.fits && typeof bounded.value === 'string') {
        const payload = laravelPayload(bounded.value)
        if (!payload) continue
        const pushedAt = laravelPushedAt(payload)
        if (pushedAt !== undefined) reading.oldestWaitingMs = Math.max(0, now - pushedAt)
      }
      result.set(ref, reading)
    }
    return result
  }
}
