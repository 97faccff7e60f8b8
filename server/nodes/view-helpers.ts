/**
 * Formatting for the node templates, on top of the shared formatters in web/format.ts: the same
 * rules (pure, no clock, total over hostile input) for the pieces only a node card shows.
 */
import { isValidName, isValidQueueName } from '@gravito/quasar/protocol'
import { nodeUrl, queueUrl } from '../http/urls.js'
import { barWidth, bytes, clamp, count, DASH, formatHelpers, millis, num, percent, record, share, span, text, UNKNOWN } from '../web/format.js'
import type { Health } from '../collector/health.js'
import type { PulsePageQuery } from './schemas.js'
import { queryString, type Spread } from './fleet.js'

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

export const LEGACY_AGENT_NOTE = 'legacy agent: original Quasar heartbeat format'

/* ---- node card pieces ------------------------------------------------------------------------ */

const HEALTH_LABELS: Record<Health, string> = { fresh: 'Fresh', stale: 'Stale', dead: 'Dead' }

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

/** The fleet page's URL with some of its query changed; a filter change goes back to page 1. */
export function pulseUrl(query: Partial<PulsePageQuery>, change: Partial<PulsePageQuery> = {}): string {
  const page = 'page' in change ? change.page : 1
  return `/pulse${queryString({ ...query, ...change, page })}`
}

/** The fragment URL the page polls, with the page's whole query: a poll keeps the view. */
export function fragmentUrl(query: Partial<PulsePageQuery>): string {
  return `/fragments/pulse/nodes${queryString(query)}`
}

/** Page numbers to link: the first, the last, and two either side of the current; null marks a gap. */
export function pageLinks(page: number, pages: number): (number | null)[] {
  const links: (number | null)[] = []
  for (let n = 1; n <= pages; n++) {
    if (n === 1 || n === pages || Math.abs(n - page) <= 2) links.push(n)
    else if (links.at(-1) !== null) links.push(null)
  }
  return links
}

/** "12%–80%", or one figure when every node agrees; "–" when no node reports it. */
export function spread(value: Spread | null): string {
  if (value === null) return DASH
  const min = percent(value.min)
  const max = percent(value.max)
  return min === max ? min : `${min}–${max}`
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

/** Everything the templates use, passed to them as `it.h`. */
export const viewHelpers = {
  ...formatHelpers,
  clockNote,
  LEGACY_AGENT_NOTE,
  healthLabel,
  healthClass,
  runtime,
  cpuBar,
  memoryBar,
  diskBar,
  eventLoop,
  queueRows,
  pulseUrl,
  fragmentUrl,
  pageLinks,
  spread,
  nodeUrl,
  queueUrl: queueUrlOf,
  nodeDomId,
}
