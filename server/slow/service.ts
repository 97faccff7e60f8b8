/**
 * View models for slow requests and jobs: filtered entries, and groups by name with count, p95,
 * max and last seen. Pure functions of the snapshot.
 */
import type { Snapshot } from '../collector/snapshot.js'
import type { SlowEntryRecord, SlowPart } from './collector-part.js'
import { readStatus, type ReadStatus } from '../collector/part-status.js'

export interface SlowFilter {
  service?: string | undefined
  kind?: 'request' | 'job' | undefined
}

export interface SlowGroup {
  service: string
  kind: 'request' | 'job'
  name: string
  count: number
  p95Ms: number
  maxMs: number
  lastSeenAt: number
}

export interface SlowView {
  generatedAt: number
  redis: ReadStatus
  filter: SlowFilter
  serviceNames: string[]
  groups: SlowGroup[]
  latest: SlowEntryRecord[]
  total: number
}

export const LATEST_SHOWN = 50

export function slowOf(snapshot: Snapshot): SlowPart {
  return snapshot.slow ?? { entries: [] }
}

export function filterEntries(entries: readonly SlowEntryRecord[], filter: SlowFilter): SlowEntryRecord[] {
  return entries.filter((e) => (!filter.service || e.service === filter.service) && (!filter.kind || e.kind === filter.kind))
}

/** Nearest-rank percentile of durations. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export function groupEntries(entries: readonly SlowEntryRecord[]): SlowGroup[] {
  const byName = new Map<string, SlowEntryRecord[]>()
  for (const entry of entries) {
    const key = `${entry.service}\u0000${entry.kind}\u0000${entry.name}`
    const list = byName.get(key) ?? []
    list.push(entry)
    byName.set(key, list)
  }
  const groups: SlowGroup[] = []
  for (const list of byName.values()) {
    const durations = list.map((e) => e.durationMs).sort((a, b) => a - b)
    const first = list[0]!
    groups.push({
      service: first.service,
      kind: first.kind,
      name: first.name,
      count: list.length,
      p95Ms: percentile(durations, 95),
      maxMs: durations.at(-1)!,
      lastSeenAt: Math.max(...list.map((e) => e.timestamp)),
    })
  }
  return groups.sort((a, b) => b.p95Ms - a.p95Ms || b.count - a.count || (a.name < b.name ? -1 : 1))
}

export function buildSlowView(snapshot: Snapshot, filter: SlowFilter): SlowView {
  const all = slowOf(snapshot).entries
  const entries = filterEntries(all, filter)
  return {
    generatedAt: snapshot.generatedAt,
    redis: readStatus(snapshot, ['slow']),
    filter,
    serviceNames: [...new Set(all.map((e) => e.service))].sort(),
    groups: groupEntries(entries),
    latest: entries.slice(0, LATEST_SHOWN),
    total: entries.length,
  }
}

/** Entries in an API answer, newest first. */
export const API_ENTRIES = 500

export function toSlowApi(snapshot: Snapshot, filter: SlowFilter) {
  const entries = filterEntries(slowOf(snapshot).entries, filter)
  return { generatedAt: snapshot.generatedAt, entries: entries.slice(0, API_ENTRIES), groups: groupEntries(entries) }
}
