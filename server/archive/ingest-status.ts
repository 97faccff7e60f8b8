/**
 * What the archiver has done, per service and as a whole, for the settings panel and the JSON
 * status: entries stored, entries skipped by reason, the group's lag, and the last error in plain
 * words. Bounded: at most MAX_SERVICES services and MAX_REASONS reasons each, so a hostile agent
 * inventing reasons or services cannot grow it.
 */
export const MAX_SERVICES = 2_000
export const MAX_REASONS = 16
const OTHER_REASON = 'other reasons'

export interface ServiceIngestStatus {
  readonly service: string
  /** records stored (a record delivered twice counts twice: delivery is at least once) */
  readonly ingested: number
  /** entries skipped and acknowledged, by reason */
  readonly skipped: Readonly<Record<string, number>>
  readonly skippedTotal: number
  /** entries not yet delivered to any console; null when Redis cannot tell */
  readonly lag: number | null
  /** delivered to a console and not yet acknowledged */
  readonly pending: number
  /** epoch ms of the last record stored */
  readonly lastIngestAt: number | null
  /** why the last read of this stream failed; null once one succeeds */
  readonly error: string | null
}

export interface IngestStatus {
  readonly running: boolean
  readonly consumer: string
  /** epoch ms the last round ended */
  readonly lastRoundAt: number | null
  /** why the last round stopped early (store or Redis); null once a round completes */
  readonly error: string | null
  readonly errorAt: number | null
  readonly ingested: number
  readonly skipped: number
  /** entries waiting over every service (lag + pending), as far as Redis can tell */
  readonly backlog: number
  readonly services: readonly ServiceIngestStatus[]
}

type MutableService = { -readonly [K in keyof ServiceIngestStatus]: K extends 'skipped' ? Record<string, number> : ServiceIngestStatus[K] }

export function createIngestStatus(consumer: string) {
  const services = new Map<string, MutableService>()
  let lastRoundAt: number | null = null
  let error: string | null = null
  let errorAt: number | null = null
  let running = false

  function of(service: string): MutableService | null {
    let entry = services.get(service)
    if (!entry) {
      if (services.size >= MAX_SERVICES) return null
      entry = { service, ingested: 0, skipped: {}, skippedTotal: 0, lag: null, pending: 0, lastIngestAt: null, error: null }
      services.set(service, entry)
    }
    return entry
  }

  return {
    setRunning(value: boolean) {
      running = value
    },
    ingested(service: string, count: number, now: number) {
      const entry = of(service)
      if (!entry || count === 0) return
      entry.ingested += count
      entry.lastIngestAt = now
    },
    skipped(service: string, reason: string) {
      const entry = of(service)
      if (!entry) return
      const key = reason in entry.skipped || Object.keys(entry.skipped).length < MAX_REASONS ? reason : OTHER_REASON
      entry.skipped[key] = (entry.skipped[key] ?? 0) + 1
      entry.skippedTotal++
    },
    group(service: string, lag: number | null, pending: number) {
      const entry = of(service)
      if (!entry) return
      entry.lag = lag
      entry.pending = pending
      entry.error = null
    },
    serviceError(service: string, reason: string) {
      const entry = of(service)
      if (entry) entry.error = reason
    },
    roundEnded(now: number, reason: string | null) {
      lastRoundAt = now
      error = reason
      if (reason !== null) errorAt = now
    },
    snapshot(): IngestStatus {
      const list = [...services.values()].sort((a, b) => a.service.localeCompare(b.service)).map((entry) => ({ ...entry, skipped: { ...entry.skipped } }))
      return {
        running,
        consumer,
        lastRoundAt,
        error,
        errorAt: error === null ? null : errorAt,
        ingested: list.reduce((sum, entry) => sum + entry.ingested, 0),
        skipped: list.reduce((sum, entry) => sum + entry.skippedTotal, 0),
        backlog: list.reduce((sum, entry) => sum + (entry.lag ?? 0) + entry.pending, 0),
        services: list,
      }
    },
  }
}

export type IngestStatusRecorder = ReturnType<typeof createIngestStatus>
