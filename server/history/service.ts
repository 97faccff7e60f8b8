/**
 * What the history API and the charts show, from stored buckets. Pure functions: no request, no
 * Redis.
 */
import { nameSegment } from '../http/urls.js'
import { decodeRaw, decodeRollup, type Values } from './encoding.js'
import { METRICS, RANGE_PLAN, RANGES, type Range, type Resolution, type SeriesKind } from './metrics.js'
import type { StoredBucket } from './store.js'

/** `{ t, cpuSystem, … }` for nodes, `{ t, waiting, failed, throughput }` for queues */
export type HistoryPoint = { t: number } & Record<string, unknown>

/**
 * Stored buckets as API points: `{ t, <metric>: value | null, … }`, oldest first. Raw buckets hold
 * one sample; rollup buckets give the average of their samples plus a `max` per metric.
 */
export function toPoints(kind: SeriesKind, resolution: Resolution, buckets: readonly StoredBucket[]): HistoryPoint[] {
  const metrics = METRICS[kind]
  const named = (values: Values) => Object.fromEntries(metrics.map((metric, i) => [metric, values[i] ?? null]))
  const points: HistoryPoint[] = []
  for (const bucket of buckets) {
    if (resolution.name === 'raw') {
      const values = decodeRaw(kind, bucket.value)
      if (values) points.push({ t: bucket.t, ...named(values) })
    } else {
      const rollup = decodeRollup(kind, bucket.value)
      if (rollup) points.push({ t: bucket.t, ...named(rollup.avg), max: named(rollup.max) })
    }
  }
  return points
}

/** The window a range covers at `now`: the buckets overlapping (from, to]. */
export function windowOf(range: Range, now: number) {
  const plan = RANGE_PLAN[range]
  return { resolution: plan.resolution, from: now - plan.spanMs, to: now }
}

export interface RangeLink {
  key: Range
  label: string
  href: string
  current: boolean
}

export function rangeLinks(baseHref: string, current: Range): RangeLink[] {
  return RANGES.map((key) => ({ key, label: RANGE_PLAN[key].label, href: `${baseHref}?range=${key}`, current: key === current }))
}

export interface QueueChartsView {
  service: string
  queue: string
  range: Range
  rangeLabel: string
  ranges: RangeLink[]
  chartUrl: string
}

/**
 * What views/history/queue-charts.eta needs. `pageHref` is the queue page's own path, so the range
 * links stay on it.
 */
export function buildQueueCharts(service: string, queue: string, range: Range, pageHref: string): QueueChartsView {
  return {
    service,
    queue,
    range,
    rangeLabel: RANGE_PLAN[range].label,
    ranges: rangeLinks(pageHref, range),
    chartUrl: queueChartDataUrl(service, queue, range),
  }
}

/** Where the pages' charts read history: a page-side path, authorised like the page (routes.ts). */
export const CHART_DATA_PREFIX = '/charts'

export function nodeChartDataUrl(service: string, nodeId: string, range: Range): string {
  return `${CHART_DATA_PREFIX}/nodes/${nameSegment(service)}/${nameSegment(nodeId)}?range=${range}`
}

export function queueChartDataUrl(service: string, queue: string, range: Range): string {
  return `${CHART_DATA_PREFIX}/queues/${nameSegment(service)}/${nameSegment(queue)}?range=${range}`
}
