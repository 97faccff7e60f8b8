/**
 * The alerts' part of each snapshot: what is firing and the recent history, read from Redis (so
 * every replica shows the same). The history stream is read incrementally: after the first read
 * only entries newer than the last one seen are fetched, so a quiet tick costs three small replies.
 */
import type { RedisClient } from '../redis/client.js'
import type { z } from 'zod'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { CollectorPart } from '../collector/snapshot.js'
import { createBatch } from '../redis/batch.js'
import { readKey, type KeyRead } from '../redis/key-errors.js'
import type { ConsoleKeys } from '../redis/keys.js'
import {
  deliveryRecordSchema,
  firingRecordSchema,
  HISTORY_EVENTS,
  historyEventSchema,
  type DeliveryRecord,
  type FiringRecord,
  type HistoryEvent,
} from './schemas.js'
import { alertField, HISTORY_MAXLEN } from './store.js'

export interface FiringAlert extends FiringRecord {
  /** a firing message went out for this episode */
  readonly notified: boolean
}

export interface AlertHistoryEntry extends HistoryEvent {
  readonly id: string
  readonly deliveries: readonly DeliveryRecord[]
}

export interface AlertsPart {
  /** oldest first */
  readonly firing: readonly FiringAlert[]
  /** newest first, at most HISTORY_EVENTS and HISTORY_MAX_AGE_MS old */
  readonly history: readonly AlertHistoryEntry[]
}

// Optional: the collector's first snapshot is built before any part is added (see alertsOf).
declare module '../collector/snapshot.js' {
  interface SnapshotParts {
    readonly alerts?: AlertsPart
  }
}

export const NO_ALERTS: AlertsPart = Object.freeze({ firing: [], history: [] })

/** The snapshot's alerts part, empty until the part has been added. */
export function alertsOf(snapshot: { readonly alerts?: AlertsPart }): AlertsPart {
  return snapshot.alerts ?? NO_ALERTS
}

export { HISTORY_EVENTS }
export const HISTORY_MAX_AGE_MS = 7 * 24 * 3_600_000
const READ_BATCH = 1000

type StreamEntry = [id: string, fields: string[]]

export function createAlertsCollector(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog): CollectorPart<'alerts'> {
  /** events in stream order (oldest first), with the deliveries seen so far */
  const events = new Map<string, AlertHistoryEntry>()
  let lastId: string | null = null
  let published: AlertsPart = { firing: [], history: [] }

  async function collect(now: number): Promise<AlertsPart> {
    const firingKey = keys.alertsFiring()
    const notifiedKey = keys.alertsNotified()
    const stream = keys.alertsHistory()
    const batch = createBatch(redis)
    const firingSlot = batch.add<Record<string, string>>((p) => p.hgetall(firingKey))
    const notifiedSlot = batch.add<Record<string, string>>((p) => p.hgetall(notifiedKey))
    const entriesSlot =
      lastId === null
        ? batch.add<StreamEntry[]>((p) => p.xrevrange(stream, '+', '-', 'COUNT', HISTORY_MAXLEN))
        : batch.add<StreamEntry[]>((p) => p.xrange(stream, `(${lastId}`, '+', 'COUNT', READ_BATCH))
    await batch.exec()
    // a key of the wrong type (something else wrote it) reads as empty, reported, rather than
    // failing the tick, which would mark all of Redis as unreachable
    const firingHash = orEmpty(readKey(firingSlot, firingKey, badData), {})
    const notifiedHash = orEmpty(readKey(notifiedSlot, notifiedKey, badData), {})
    let entries = orEmpty(readKey(entriesSlot, stream, badData), [])
    if (lastId === null) entries = entries.reverse()

    const changed = entries.length > 0 ? absorb(entries) : false
    const expired = prune(now)
    const firing = readFiring(firingHash, notifiedHash)
    const history = changed || expired ? [...events.values()].reverse() : published.history
    published = { firing, history }
    return published
  }

  function absorb(entries: StreamEntry[]): boolean {
    for (const [id, fields] of entries) {
      lastId = id
      const [name, raw] = fields
      if (raw === undefined) continue
      if (name === 'e') {
        const event = parseJson(raw, historyEventSchema)
        if (event) events.set(id, { ...event, id, deliveries: [] })
      } else if (name === 'd') {
        const delivery = parseJson(raw, deliveryRecordSchema)
        if (!delivery) continue
        // a grouped message's outcome belongs to every event it announced
        for (const eventId of [delivery.eventId, ...(delivery.moreEventIds ?? [])]) {
          const event = events.get(eventId)
          // entries are never mutated once published: replace the event with a new object
          if (event) events.set(event.id, { ...event, deliveries: [...event.deliveries, delivery] })
        }
      }
    }
    return true
  }

  function prune(now: number): boolean {
    let removed = false
    for (const [id, event] of events) {
      if (events.size <= HISTORY_EVENTS && event.at >= now - HISTORY_MAX_AGE_MS) break
      events.delete(id)
      removed = true
    }
    return removed
  }

  return { key: 'alerts', initial: published, collect }
}

function readFiring(firingHash: Record<string, string>, notifiedHash: Record<string, string>): FiringAlert[] {
  const firing: FiringAlert[] = []
  for (const raw of Object.values(firingHash)) {
    const record = parseJson(raw, firingRecordSchema)
    if (record) firing.push({ ...record, notified: notifiedHash[alertField(record.rule, record.target)] === '1' })
  }
  return firing.sort((a, b) => a.firedAt - b.firedAt || (alertField(a.rule, a.target) < alertField(b.rule, b.target) ? -1 : 1))
}

function orEmpty<T>(read: KeyRead<T>, empty: T): T {
  return read.ok ? read.value : empty
}

function parseJson<T>(raw: string, schema: z.ZodType<T>): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(raw))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
