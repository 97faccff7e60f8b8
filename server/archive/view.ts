/**
 * The archive's settings and state as the settings panel (views/archive/settings.eta) shows them.
 * A pure function of `app.archive.status()`: the /jobs page builds it and includes the partial as
 * `include('archive/settings', { archive, h })`.
 */
import { ARCHIVE_STATES } from '@gravito/quasar/protocol'
import { formatSize } from './settings.js'
import type { ArchiveStatus } from './plugin.js'

/** Services listed with their lag and skips at most; the rest are counted. */
export const SERVICES_SHOWN = 50

export interface ArchiveServiceRow {
  service: string
  lag: number | null
  pending: number
  ingested: number
  skipped: number
  /** most frequent first */
  reasons: { reason: string; count: number }[]
  error: string | null
}

export interface ArchiveSettingsView {
  engine: 'off' | 'sqlite' | 'postgres'
  location: string
  retention: { state: string; keep: string }[]
  maxSize: string
  open: boolean
  storeError: string | null
  rows: number | null
  bytes: number | null
  oldestFinishedAt: number | null
  ingested: number
  skipped: number
  backlog: number
  lastRoundAt: number | null
  ingestError: string | null
  retentionDeleted: number
  retentionError: string | null
  /** services with a backlog, skips or an error, busiest first */
  services: ArchiveServiceRow[]
  moreServices: number
  now: number
}

const DAY = 86_400_000

export function buildArchiveSettingsView(status: ArchiveStatus, now: number): ArchiveSettingsView {
  const { settings, ingest, retention, stats } = status
  const rows = (ingest?.services ?? [])
    .filter((service) => (service.lag ?? 0) + service.pending > 0 || service.skippedTotal > 0 || service.error !== null)
    .map((service) => ({
      service: service.service,
      lag: service.lag,
      pending: service.pending,
      ingested: service.ingested,
      skipped: service.skippedTotal,
      reasons: Object.entries(service.skipped)
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      error: service.error,
    }))
    .sort((a, b) => (b.lag ?? 0) + b.pending + b.skipped - ((a.lag ?? 0) + a.pending + a.skipped) || a.service.localeCompare(b.service))
  return {
    engine: settings.engine,
    location: settings.location,
    retention: ARCHIVE_STATES.map((state) => {
      const ms = settings.retention.maxAgeMs[state]
      return { state, keep: ms === undefined ? 'forever' : ms % DAY === 0 ? `${ms / DAY} ${ms === DAY ? 'day' : 'days'}` : `${Math.round(ms / 3_600_000)} h` }
    }),
    maxSize: settings.retention.maxBytes === undefined ? 'no cap' : formatSize(settings.retention.maxBytes),
    open: status.open,
    storeError: status.storeError,
    rows: stats?.rows ?? null,
    bytes: stats?.bytes ?? null,
    oldestFinishedAt: stats?.oldestFinishedAt ?? null,
    ingested: ingest?.ingested ?? 0,
    skipped: ingest?.skipped ?? 0,
    backlog: ingest?.backlog ?? 0,
    lastRoundAt: ingest?.lastRoundAt ?? null,
    ingestError: ingest?.error ?? null,
    retentionDeleted: retention?.deleted ?? 0,
    retentionError: retention?.error ?? null,
    services: rows.slice(0, SERVICES_SHOWN),
    moreServices: Math.max(0, rows.length - SERVICES_SHOWN),
    now,
  }
}
