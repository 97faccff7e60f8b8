/**
 * Server-rendered sparklines: a small inline SVG polyline, no JavaScript, so an htmx swap of the
 * card redraws it like any other markup. This module only measures: it turns samples into the
 * numbers of one drawing (formatted here, so every replica draws the same bytes), and the partial
 * views/history/sparkline.eta writes the SVG with every attribute escaped. Stroke and colour come
 * from SVG attributes and CSS classes (the CSP forbids style attributes).
 */
import { NODE_METRICS } from './metrics.js'
import { RecentRing, type RecentPoint } from './recent-ring.js'

export interface SparklineOptions {
  width?: number
  height?: number
  /** fixed scale (e.g. 0..100 for percents); otherwise the values' own range */
  min?: number
  max?: number
  /** accessible name, e.g. "CPU over the last 5 minutes" */
  label?: string
  /** extra classes, letters, digits, `-` and `_` only */
  className?: string
}

/** One sparkline as the partial draws it; coordinates are already formatted. */
export interface Sparkline {
  /** `sparkline`, the filtered extra classes, and `sparkline-empty` when nothing is drawn */
  readonly classes: string
  readonly width: number
  readonly height: number
  /** the accessible name; absent, the drawing is hidden from assistive technology */
  readonly label?: string
  /** the line and its last point; null when no value is finite (a dashed baseline instead) */
  readonly line: { readonly points: string; readonly lastX: string; readonly lastY: string } | null
  /** where the dashed "no data yet" baseline runs */
  readonly baselineY: string
}

const PAD = 1.5

export function sparkline(values: readonly unknown[], options: SparklineOptions = {}): Sparkline {
  const width = dimension(options.width, 120)
  const height = dimension(options.height, 24)
  const finite = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value))
  const classes = ['sparkline', ...classTokens(options.className)]
  if (finite.length === 0) classes.push('sparkline-empty')
  const base = { classes: classes.join(' '), width, height, ...(options.label ? { label: options.label } : {}), baselineY: fmt(height - PAD) }
  // a dashed baseline says "no data yet" without pretending a value
  if (finite.length === 0) return { ...base, line: null }
  let low = isFiniteNumber(options.min) ? options.min : Math.min(...finite)
  let high = isFiniteNumber(options.max) ? options.max : Math.max(...finite)
  if (high < low) [low, high] = [high, low]
  const y = (value: number): number => {
    if (high === low) return height / 2
    const clamped = Math.min(high, Math.max(low, value))
    return PAD + (1 - (clamped - low) / (high - low)) * (height - 2 * PAD)
  }
  // one point still draws a level line across, so a new node shows where it is
  const series = finite.length === 1 ? [finite[0]!, finite[0]!] : finite
  const step = (width - 2 * PAD) / (series.length - 1)
  // `join` copies the text into one string: the node cards' drawings are kept between renders,
  // and a string built with `+` is a tree of all its pieces (2,400 cards held 6 MB of them)
  const points = series.map((value, i) => `${fmt(PAD + i * step)},${fmt(y(value))}`).join(' ')
  return { ...base, line: { points, lastX: fmt(width - PAD), lastY: fmt(y(series[series.length - 1]!)) } }
}

export interface NodeSparklines {
  cpu: Sparkline
  memory: Sparkline
  lag: Sparkline
}

/** The node card's three sparklines from the in-memory recent samples (oldest first). */
export function nodeSparklines(samples: RecentRing | readonly RecentPoint[], options: { width?: number; height?: number } = {}): NodeSparklines {
  const column = (metric: (typeof NODE_METRICS)[number]) => {
    const index = NODE_METRICS.indexOf(metric)
    return samples instanceof RecentRing ? samples.column(index) : samples.map((point) => point.values[index])
  }
  return {
    cpu: sparkline(column('cpuSystem'), { ...options, min: 0, max: 100, label: 'CPU (system) over the last 5 minutes', className: 'sparkline-cpu' }),
    memory: sparkline(column('memoryUsedPct'), { ...options, min: 0, max: 100, label: 'Memory used over the last 5 minutes', className: 'sparkline-memory' }),
    lag: sparkline(column('lagMs'), { ...options, min: 0, label: 'Event-loop lag over the last 5 minutes', className: 'sparkline-lag' }),
  }
}

function dimension(value: unknown, fallback: number): number {
  return isFiniteNumber(value) && value >= 4 && value <= 2000 ? Math.round(value) : fallback
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function classTokens(value: unknown): string[] {
  return typeof value === 'string' ? value.split(/\s+/).filter((token) => /^[A-Za-z0-9_-]{1,40}$/.test(token)) : []
}

function fmt(n: number): string {
  return String(Math.round(n * 10) / 10)
}
