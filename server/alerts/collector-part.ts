/**
 * The alerts' part of each snapshot: what is firing and the recent history, read from Redis (so
 * every replica shows the same). The history stream is read incrementally: after the first read
 * only entries newer than the last one seen are fetched, so a quiet tick costs three small replies.
 */
import type { RedisClient } from '../redis/client.js'
import type { z } from 'zod'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { CollectorPart } from '../collector/snapshot.js'
import type { ConsoleKeys } from '../redis/keys.js'
import { deliveryRecordSchema, firingRecordSchema, HISTORY_EVENTS, historyEventSchema, type DeliveryRecord, type FiringRecord, type HistoryEvent } from './schemas.js'
import { alertField, createAlertStateReader, type StreamEntry } from './store.js'

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

export function createAlertsCollector(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog): CollectorPart<'alerts'> {
  /** events in stream order (oldest first), with the deliveries seen so far */
  const events = new Map<string, AlertHistoryEntry>()
  let lastId: string | null = null
  let published: AlertsPart = { firing: [], history: [] }
  const readState = createAlertStateReader(redis, keys, badData)

  async function collect(now: number): Promise<AlertsPart> {
    const { firing: firingHash, notified: notifiedHash, entries } = await readState(lastId, READ_BATCH)
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

function parseJson<T>(raw: string, schema: z.ZodType<T>): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(raw))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
