/**
 * Server-rendered sparklines: a small inline SVG polyline, no JavaScript, so an htmx swap of the
 * card redraws it like any other markup. The output is built only from numbers this module formats
 * itself plus a label and class names it filters, so it is safe to emit raw (`<%~ %>`); stroke and
 * colour come from SVG attributes and CSS classes (the CSP forbids style attributes).
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

const PAD = 1.5

export function sparklineSvg(values: readonly unknown[], options: SparklineOptions = {}): string {
  const width = dimension(options.width, 120)
  const height = dimension(options.height, 24)
  const finite = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value))
  const classes = ['sparkline', ...classTokens(options.className)]
  if (finite.length === 0) classes.push('sparkline-empty')
  const label = options.label ? ` role="img" aria-label="${escapeAttribute(options.label)}"` : ' aria-hidden="true"'
  const open = `<svg class="${classes.join(' ')}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" preserveAspectRatio="none"${label} focusable="false">`
  if (finite.length === 0) {
    // a dashed baseline says "no data yet" without pretending a value
    return flat([open, `<line class="sparkline-none" x1="0" y1="${fmt(height - PAD)}" x2="${width}" y2="${fmt(height - PAD)}" stroke="currentColor" stroke-dasharray="2 3" stroke-width="1"/>`, '</svg>'])
  }
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
  const points = series.map((value, i) => `${fmt(PAD + i * step)},${fmt(y(value))}`).join(' ')
  const last = series[series.length - 1]!
  return flat([
    open,
    `<polyline class="sparkline-line" points="${points}" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round" vector-effect="non-scaling-stroke"/>`,
    `<circle class="sparkline-last" cx="${fmt(width - PAD)}" cy="${fmt(y(last))}" r="1.5" fill="currentColor"/>`,
    '</svg>',
  ])
}

/**
 * One string in one piece. Joined with `+` or a template, a string is a tree of the pieces it
 * was made from; the node cards' sparklines are kept between renders, and 2,400 cards' worth of
 * such trees held 6 MB of pieces for about 3 MB of text. `join` copies the text into one string.
 */
function flat(parts: string[]): string {
  return parts.join('')
}

export interface NodeSparklines {
  cpu: string
  memory: string
  lag: string
}

/** The node card's three sparklines from the in-memory recent samples (oldest first). */
export function nodeSparklines(samples: RecentRing | readonly RecentPoint[], options: { width?: number; height?: number } = {}): NodeSparklines {
  const column = (metric: (typeof NODE_METRICS)[number]) => {
    const index = NODE_METRICS.indexOf(metric)
    return samples instanceof RecentRing ? samples.column(index) : samples.map((point) => point.values[index])
  }
  return {
    cpu: sparklineSvg(column('cpuSystem'), { ...options, min: 0, max: 100, label: 'CPU (system) over the last 5 minutes', className: 'sparkline-cpu' }),
    memory: sparklineSvg(column('memoryUsedPct'), { ...options, min: 0, max: 100, label: 'Memory used over the last 5 minutes', className: 'sparkline-memory' }),
    lag: sparklineSvg(column('lagMs'), { ...options, min: 0, label: 'Event-loop lag over the last 5 minutes', className: 'sparkline-lag' }),
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

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
