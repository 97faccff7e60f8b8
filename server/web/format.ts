/**
 * Formatting every area's templates share. Pure functions of their arguments (no clock: "now" is
 * the snapshot's time, so a fragment renders the same for every viewer of one snapshot and its
 * ETag holds). Every input may be missing or hostile (NaN, negative, 1e308, a string where a number
 * was expected): the answer is then "unknown" or "–", never an exception and never a bar outside
 * 0..100.
 */

export const UNKNOWN = 'unknown'
export const DASH = '–'
/** The value if it is a finite number (optionally not negative), otherwise null. */
export function num(value: unknown, { min = -Infinity }: { min?: number } = {}): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= min ? value : null
}

/** An agent string for display; anything else (missing, object, empty) reads "unknown". */
export function text(value: unknown, fallback = UNKNOWN): string {
  if (typeof value === 'string') return value.trim() === '' ? fallback : value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return fallback
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value))
}

/** A bar width in percent, 0..100 with one decimal; missing or non-finite input draws nothing. */
export function barWidth(value: unknown): number {
  const n = num(value)
  return n === null ? 0 : Math.round(clamp(n, 0, 100) * 10) / 10
}

/** `part` as a percent of `whole`, or null when either is unusable or `whole` is not positive. */
export function share(part: unknown, whole: unknown): number | null {
  const p = num(part, { min: 0 })
  const w = num(whole, { min: 0 })
  if (p === null || w === null || w === 0) return null
  const result = (p / w) * 100
  return Number.isFinite(result) ? result : null
}

/** 42 % → "42%", 4.25 → "4.3%"; out-of-range values are shown as they are, only rounded. */
export function percent(value: unknown): string {
  const n = num(value)
  if (n === null) return DASH
  const abs = Math.abs(n)
  return `${abs >= 10 || Number.isInteger(n) ? Math.round(n) : n.toFixed(1)}%`
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']

/** 1536 → "1.5 KiB"; negative or missing → "–". */
export function bytes(value: unknown): string {
  const n = num(value, { min: 0 })
  if (n === null) return DASH
  let unit = 0
  let scaled = n
  while (scaled >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024
    unit++
  }
  const digits = unit === 0 || scaled >= 100 ? 0 : scaled >= 10 ? 1 : 2
  return `${trimZeros(scaled.toFixed(digits))} ${BYTE_UNITS[unit]}`
}

/** Thousands separators, integers only: 12345 → "12,345". */
export function count(value: unknown): string {
  const n = num(value, { min: 0 })
  if (n === null) return DASH
  return Math.round(n).toLocaleString('en-US')
}

/** Event-loop style milliseconds: 0.42 → "0.42 ms", 12.3 → "12 ms", 2300 → "2.3 s". */
export function millis(value: unknown): string {
  const n = num(value, { min: 0 })
  if (n === null) return DASH
  if (n >= 1000) return `${trimZeros((n / 1000).toFixed(n >= 10_000 ? 0 : 1))} s`
  if (n >= 10) return `${Math.round(n)} ms`
  return `${trimZeros(n.toFixed(n >= 1 ? 1 : 2))} ms`
}

/** Two largest units of a span of seconds: 273_600 → "3d 4h", 302 → "5m 2s", 7 → "7s". */
export function duration(seconds: unknown): string {
  const n = num(seconds, { min: 0 })
  if (n === null) return UNKNOWN
  let rest = Math.floor(n)
  const parts: [number, string][] = [
    [Math.floor(rest / 86_400), 'd'],
    [Math.floor((rest %= 86_400) / 3600), 'h'],
    [Math.floor((rest %= 3600) / 60), 'm'],
    [rest % 60, 's'],
  ]
  const first = parts.findIndex(([amount]) => amount > 0)
  if (first === -1) return '0s'
  const [big, bigUnit] = parts[first]!
  const next = parts[first + 1]
  if (bigUnit === 'd' && big >= 100) return `${count(big)}d`
  return next && next[0] > 0 ? `${big}${bigUnit} ${next[0]}${next[1]}` : `${big}${bigUnit}`
}

/** How long ago, from an age in milliseconds: "now", "4 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function ago(ageMs: unknown): string {
  const n = num(ageMs)
  if (n === null) return UNKNOWN
  const seconds = Math.floor(Math.max(0, n) / 1000)
  if (seconds < 1) return 'now'
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  return `${count(Math.floor(seconds / 86_400))} d ago`
}

/** A span of milliseconds in one unit: "40 s", "3 min", "2 h", "5 d"; past a year "over a year". */
export function span(ms: unknown): string {
  const n = num(ms, { min: 0 })
  if (n === null) return UNKNOWN
  const seconds = Math.floor(n / 1000)
  if (seconds < 60) return `${seconds} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`
  if (seconds < 366 * 86_400) return `${Math.floor(seconds / 86_400)} d`
  return 'over a year'
}

/** fields a card lists by name when some were skipped; the rest are counted */
export const SKIPS_SHOWN = 3

/**
 * What a record's skip note shows: the first few skips, and how many more there were in all
 * (`total` counts those the reader only counted, past the ones it kept).
 */
export function skipNotes(skipped: unknown, total: unknown, limit = SKIPS_SHOWN): { shown: { field: string; reason: string }[]; more: number } {
  if (!Array.isArray(skipped)) return { shown: [], more: 0 }
  const shown = skipped.slice(0, limit).map((skip) => {
    const s = record(skip)
    return { field: text(s.field, '?'), reason: text(s.reason, '') }
  })
  const all = Math.max(skipped.length, num(total, { min: 0 }) ?? 0)
  return { shown, more: all - shown.length }
}

/** Epoch ms as "hh:mm:ss UTC"; a different day than `now` also gets its date. */
export function utcTime(epochMs: unknown, now?: unknown): string {
  const date = toDate(epochMs)
  if (!date) return UNKNOWN
  const iso = date.toISOString()
  const time = `${iso.slice(11, 19)} UTC`
  const today = toDate(now)
  return today && today.toISOString().slice(0, 10) === iso.slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`
}

/**
 * Epoch ms as "YYYY-MM-DD hh:mm:ss UTC", for a `<time>`'s title: the page shows the viewer's local
 * time (public/zenith.js rewrites every `<time datetime>` whose text is a UTC time) and the hover
 * keeps the UTC one.
 */
export function utcTitle(epochMs: unknown): string {
  // with no "today" to compare with, utcTime always writes the date
  return utcTime(epochMs)
}

/** Epoch ms as a full ISO string for `<time datetime>`, or "" when unusable. */
export function isoTime(epochMs: unknown): string {
  return toDate(epochMs)?.toISOString() ?? ''
}

function toDate(epochMs: unknown): Date | null {
  const n = num(epochMs, { min: 0 })
  if (n === null) return null
  const date = new Date(n)
  return Number.isNaN(date.getTime()) ? null : date
}

function trimZeros(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed
}

/** An agent value read as an object; anything else (array, null, a string) reads as `{}`. */
export function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

/** The generic formatters, spread into each area's `h` for its templates. */
export const formatHelpers = {
  UNKNOWN,
  DASH,
  num,
  text,
  barWidth,
  share,
  percent,
  bytes,
  count,
  millis,
  duration,
  ago,
  span,
  skipNotes,
  utcTime,
  utcTitle,
  isoTime,
}
