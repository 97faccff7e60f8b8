/**
 * View models for slow requests and jobs over a time window (`?range=`): groups by name with count,
 * p50, p95, max and last seen from the stored aggregates (windows.ts), and the latest entries of
 * the window read from the streams. Pure functions of the snapshot.
 */
import type { Snapshot } from '../collector/snapshot.js'
import type { SlowEntryRecord, SlowPart } from './collector-part.js'
import { readStatus, type ReadStatus } from '../collector/part-status.js'
import { emptyWindows } from './aggregates.js'
import { PERCENTILE_ERROR_RATIO } from './histogram.js'
import { DEFAULT_SLOW_RANGE, RANGE_LABELS, SLOW_RANGES, type SlowRange, type WindowGroup } from './windows.js'
import { naturalCompare } from '../web/natural-sort.js'

export interface SlowFilter {
  service?: string | undefined
  kind?: 'request' | 'job' | undefined
  range?: SlowRange | undefined
}

export type SlowGroup = WindowGroup

export interface SlowRangeLink {
  range: SlowRange
  label: string
  current: boolean
}

export interface SlowView {
  generatedAt: number
  redis: ReadStatus
  filter: SlowFilter
  range: SlowRange
  rangeLabel: string
  ranges: SlowRangeLink[]
  /** start of the window (epoch ms) */
  from: number
  serviceNames: string[]
  groups: SlowGroup[]
  latest: SlowEntryRecord[]
  /** entries counted in the window (every group together) */
  total: number
  /** entries the window did not count: names past a bucket's cap, and entries never folded */
  dropped: number
  unfolded: number
  /** the window's buckets not read yet (just after a start) */
  missing: number
  /** percent by which a shown percentile may differ from the exact one */
  percentileErrorPct: number
}

export const LATEST_SHOWN = 50

export function slowOf(snapshot: Snapshot): SlowPart {
  return snapshot.slow ?? { entries: [], windows: emptyWindows(snapshot.generatedAt) }
}

export function filterEntries(entries: readonly SlowEntryRecord[], filter: SlowFilter): SlowEntryRecord[] {
  return entries.filter((e) => (!filter.service || e.service === filter.service) && (!filter.kind || e.kind === filter.kind))
}

function filterGroups(groups: readonly SlowGroup[], filter: SlowFilter): SlowGroup[] {
  return groups.filter((g) => (!filter.service || g.service === filter.service) && (!filter.kind || g.kind === filter.kind))
}

export function buildSlowView(snapshot: Snapshot, filter: SlowFilter): SlowView {
  const part = slowOf(snapshot)
  const range = filter.range ?? DEFAULT_SLOW_RANGE
  const window = part.windows.windows[range]
  const groups = filterGroups(window.groups, filter)
  const names = new Set(part.entries.map((e) => e.service))
  for (const group of part.windows.windows['7d'].groups) names.add(group.service)
  return {
    generatedAt: snapshot.generatedAt,
    redis: readStatus(snapshot, ['slow']),
    filter,
    range,
    rangeLabel: RANGE_LABELS[range],
    ranges: SLOW_RANGES.map((key) => ({ range: key, label: key, current: key === range })),
    from: window.from,
    serviceNames: [...names].sort(naturalCompare),
    groups,
    latest: filterEntries(part.entries, filter)
      .filter((e) => e.timestamp >= window.from)
      .slice(0, LATEST_SHOWN),
    total: groups.reduce((sum, g) => sum + g.count, 0),
    dropped: window.dropped,
    unfolded: part.windows.unfolded,
    missing: window.missing,
    percentileErrorPct: Math.round((PERCENTILE_ERROR_RATIO - 1) * 1000) / 10,
  }
}

/** Entries in an API answer, newest first. */
export const API_ENTRIES = 500

export function toSlowApi(snapshot: Snapshot, filter: SlowFilter) {
  const part = slowOf(snapshot)
  const range = filter.range ?? DEFAULT_SLOW_RANGE
  const window = part.windows.windows[range]
  const entries = filterEntries(part.entries, filter).filter((e) => e.timestamp >= window.from)
  return { generatedAt: snapshot.generatedAt, range, from: window.from, entries: entries.slice(0, API_ENTRIES), groups: filterGroups(window.groups, filter), dropped: window.dropped }
}

/** Nearest-rank percentile of sorted durations (the exact answer the histogram approximates). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
