/**
 * Formatting for the pulse templates. Pure functions of their arguments (no clock: "now" is the
 * snapshot's time, so a fragment renders the same for every viewer of one snapshot and its ETag
 * holds). Every input may be missing or hostile (NaN, negative, 1e308, a string where a number was
 * expected): the answer is then "unknown" or "–", never an exception and never a bar outside 0..100.
 */
import { isValidName, isValidQueueName } from '@gravito/quasar/protocol'
import { nodeUrl, queueUrl } from '../http/urls.js'
import type { Health } from '../collector/health.js'
import type { NodeView } from './service.js'

export const UNKNOWN = 'unknown'
export const DASH = '–'
/** a group larger than this shows its most urgent nodes and a count of the rest */
export const GROUP_LIMIT = 60

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

/**
 * The note a node shows when its heartbeat's timestamp is implausible: what is wrong and by how
 * much, against the console's time the beat was read. Health never depended on it.
 */
export function clockNote(note: unknown, timestamp: unknown, seenAt: unknown): string | null {
  const stamped = num(timestamp)
  const seen = num(seenAt)
  const gap = stamped === null || seen === null ? null : stamped - seen
  switch (note) {
    case 'seconds':
      return 'Clock: the timestamp looks like seconds, not milliseconds; read as seconds'
    case 'ahead':
      return `Clock: the timestamp is ${span(gap)} ahead of the console's`
    case 'behind':
      return `Clock: the timestamp is ${span(gap === null ? null : -gap)} behind the console's`
    default:
      return null
  }
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

export const LEGACY_AGENT_NOTE = 'legacy agent: original Quasar heartbeat format'

/** Epoch ms as "hh:mm:ss UTC"; a different day than `now` also gets its date. */
export function utcTime(epochMs: unknown, now?: unknown): string {
  const date = toDate(epochMs)
  if (!date) return UNKNOWN
  const iso = date.toISOString()
  const time = `${iso.slice(11, 19)} UTC`
  const today = toDate(now)
  return today && today.toISOString().slice(0, 10) === iso.slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`
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

/* ---- node card pieces ------------------------------------------------------------------------ */

const HEALTH_LABELS: Record<Health, string> = { fresh: 'Fresh', stale: 'Stale', dead: 'Dead' }
const HEALTH_ORDER: Record<Health, number> = { dead: 0, stale: 1, fresh: 2 }

export function healthLabel(health: unknown): string {
  return typeof health === 'string' && Object.hasOwn(HEALTH_LABELS, health) ? HEALTH_LABELS[health as Health] : UNKNOWN
}

/** A CSS-class-safe health name; anything unexpected is shown as dead rather than as healthy. */
export function healthClass(health: unknown): Health {
  return health === 'fresh' || health === 'stale' ? health : 'dead'
}

const RUNTIMES: Record<string, { label: string; title: string }> = {
  node: { label: 'node', title: 'Node.js' },
  bun: { label: 'bun', title: 'Bun' },
  deno: { label: 'deno', title: 'Deno' },
  php: { label: 'php', title: 'PHP' },
  go: { label: 'go', title: 'Go' },
  python: { label: 'py', title: 'Python' },
  other: { label: '?', title: 'Other runtime' },
}

/** The runtime badge: `key` is one of the protocol's languages (a CSS class), never agent text. */
export function runtime(language: unknown): { key: string; label: string; title: string } {
  const key = typeof language === 'string' && Object.hasOwn(RUNTIMES, language) ? language : 'other'
  return { key, ...RUNTIMES[key]! }
}

/**
 * CPU: the system's load, with this process's share drawn inside it. Both are percents of the
 * whole machine, so the process bar never exceeds the system bar.
 */
export function cpuBar(cpu: unknown) {
  const c = record(cpu)
  const system = num(c.system)
  const proc = num(c.process)
  const systemWidth = barWidth(system)
  return {
    known: system !== null || proc !== null,
    system: percent(system),
    process: percent(proc),
    cores: num(c.cores, { min: 1 }),
    systemWidth,
    processWidth: Math.min(barWidth(proc), system === null ? 100 : systemWidth),
  }
}

/**
 * RAM: the system's used memory out of its total, with the process's RSS drawn inside it. Used
 * falls back to total − free for agents that only send those two.
 */
export function memoryBar(memory: unknown) {
  const m = record(memory)
  const system = record(m.system)
  const proc = record(m.process)
  const total = num(system.total, { min: 0 })
  const free = num(system.free, { min: 0 })
  const used = num(system.used, { min: 0 }) ?? (total !== null && free !== null ? Math.max(0, total - free) : null)
  const rss = num(proc.rss, { min: 0 })
  const usedWidth = barWidth(share(used, total))
  return {
    known: total !== null || rss !== null,
    used: bytes(used),
    total: bytes(total),
    rss: bytes(rss),
    usedPercent: percent(share(used, total)),
    usedWidth,
    rssWidth: Math.min(barWidth(share(rss, total)), usedWidth || 100),
  }
}

/** Disk: free space of the total, and a bar of the used part (the alert fires under 10 % free). */
export function diskBar(disk: unknown) {
  const d = record(disk)
  const total = num(d.total, { min: 0 })
  const free = num(d.free, { min: 0 })
  const freeShare = share(free, total)
  return {
    known: total !== null && free !== null,
    path: text(d.path, ''),
    free: bytes(free),
    total: bytes(total),
    freePercent: percent(freeShare === null ? null : clamp(freeShare, 0, 100)),
    usedWidth: freeShare === null ? 0 : barWidth(100 - freeShare),
    low: freeShare !== null && freeShare < 10,
  }
}

export function eventLoop(value: unknown) {
  const e = record(value)
  const lag = num(e.lagMs, { min: 0 })
  const p99 = num(e.p99Ms, { min: 0 })
  return { known: lag !== null || p99 !== null, lag: millis(lag), p99: millis(p99) }
}

/** A queue row of the node card; a count the agent did not send reads "–". */
export function queueRows(queues: unknown) {
  if (!Array.isArray(queues)) return []
  return queues.map((queue) => {
    const q = record(queue)
    const metrics = record(q.metrics)
    return {
      name: text(q.name),
      driver: text(q.driver, DASH),
      waiting: count(metrics.waiting),
      active: count(metrics.active),
      failed: count(metrics.failed),
      hasFailed: (num(metrics.failed) ?? 0) > 0,
      error: typeof q.error === 'string' && q.error !== '' ? q.error : null,
    }
  })
}

/**
 * The nodes a group card shows. Up to the limit, in the snapshot's order (by id) so cards keep
 * their place between polls; past it, dead and stale nodes first, then by id, and the rest only
 * counted: rendering is the console's bottleneck, and 10 k cards help nobody.
 */
export function visibleNodes(nodes: readonly NodeView[], limit = GROUP_LIMIT): { shown: readonly NodeView[]; more: number } {
  if (nodes.length <= limit) return { shown: nodes, more: 0 }
  const sorted = [...nodes].sort(
    (a, b) => HEALTH_ORDER[healthClass(a.health)] - HEALTH_ORDER[healthClass(b.health)] || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0),
  )
  return { shown: sorted.slice(0, limit), more: nodes.length - limit }
}

/** The fragment URL the page polls, keeping the service filter. */
export function fragmentUrl(filter: unknown): string {
  const base = '/fragments/pulse/nodes'
  return typeof filter === 'string' && filter !== '' ? `${base}?service=${encodeURIComponent(filter)}` : base
}

/** The queue's page, or null when the names could not be a queue's (the route would refuse them). */
export function queueUrlOf(service: unknown, name: unknown): string | null {
  return isValidName(service) && isValidQueueName(name) ? queueUrl(service, name) : null
}

/** A DOM id for a node card, stable across polls so htmx's morph keeps the element. */
export function nodeDomId(service: string, nodeId: string): string {
  // names cannot contain ':' (protocol rule), so the id is unambiguous
  return `node:${service}:${nodeId}`
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

/** Everything the templates use, passed to them as `it.h`. */
export const viewHelpers = {
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
  clockNote,
  skipNotes,
  LEGACY_AGENT_NOTE,
  utcTime,
  isoTime,
  healthLabel,
  healthClass,
  runtime,
  cpuBar,
  memoryBar,
  diskBar,
  eventLoop,
  queueRows,
  visibleNodes,
  fragmentUrl,
  nodeUrl,
  queueUrl: queueUrlOf,
  nodeDomId,
}

export type ViewHelpers = typeof viewHelpers
