/**
 * The /pulse fleet view: what one page of the fleet shows, from a snapshot and a query. Pure, no
 * request, no Redis. The page is bounded whatever the fleet: problem nodes (dead, stale, alerting)
 * come first, and once the fleet is larger than a page its healthy nodes collapse into one summary
 * row per service (the service's link lists them all); the list is cut into pages of a fixed
 * number of entries. Rendering is the console's bottleneck (BENCHMARKS.md, pulse-page): 20,000
 * cards cost megabytes per render, one page of them a few hundred kilobytes.
 */
import type { Snapshot } from '../collector/snapshot.js'
import type { Health } from '../collector/health.js'
import { num, record, share } from '../web/format.js'
import { naturalCompare } from '../web/natural-sort.js'
import { toNodeView, type HealthCounts, type NodeView } from './service.js'
import { HEALTH_FILTERS, type HealthFilter, type PulsePageQuery } from './schemas.js'

/** entries per page: cards are about 3 KB of HTML each, table rows about 0.5 KB */
export const PAGE_SIZE = { cards: 48, table: 200 } as const
/** the service select lists this many names; past it, search finds the rest */
export const SERVICE_OPTIONS = 100

export interface NodeEntry {
  kind: 'node'
  node: NodeView
  alerting: boolean
  /** the hostname repeats on this page, so the node id leads the card */
  leadWithId: boolean
}

/** min–max of a metric over a service's nodes that report it, or null when none does */
export interface Spread {
  min: number
  max: number
}

export interface ServiceRow {
  kind: 'service'
  name: string
  nodes: number
  counts: HealthCounts
  alerting: number
  worst: Health
  cpu: Spread | null
  memory: Spread | null
}

export interface FleetSummary extends HealthCounts {
  services: number
  nodes: number
  alerting: number
}

export interface FleetView {
  generatedAt: number
  query: PulsePageQuery
  /** a search, health or service filter is set: every matching node is listed on its own */
  filtered: boolean
  /** the fleet is larger than a page: healthy nodes show only as counts in their service's row */
  collapsed: boolean
  /** whole fleet, whatever the filter */
  summary: FleetSummary
  /** nodes the filter matched (the whole fleet when there is none) */
  matched: number
  /** this page's node entries, problems first */
  nodes: NodeEntry[]
  /** this page's service rows (only when collapsed) */
  services: ServiceRow[]
  /** the first names for the service select, natural order; `moreServices` are left out */
  serviceOptions: string[]
  moreServices: number
  page: number
  pages: number
}

/** Whether another area reports a firing alert on the node (alerts, through the card decorators). */
export type IsAlerting = (service: string, nodeId: string) => boolean

const HEALTH_RANK: Record<Health, number> = { dead: 0, stale: 1, fresh: 2 }

export function buildFleetView(snapshot: Snapshot, query: PulsePageQuery, isAlerting: IsAlerting): FleetView {
  const now = snapshot.generatedAt
  const summary: FleetSummary = { services: 0, nodes: 0, alerting: 0, fresh: 0, stale: 0, dead: 0 }
  const rows = new Map<string, ServiceRow>()
  const listed: { node: NodeView; alerting: boolean }[] = []
  const filtered = query.service !== undefined || query.q !== undefined || query.health !== undefined
  const needle = query.q?.toLowerCase()
  let matched = 0

  for (const record of snapshot.nodes) {
    const node = toNodeView(record, now)
    const alerting = isAlerting(node.service, node.nodeId)
    summary.nodes++
    summary[node.health]++
    if (alerting) summary.alerting++
    const row = rows.get(node.service) ?? newRow(node.service)
    rows.set(node.service, row)
    addToRow(row, node, alerting)

    if (filtered && !matches(node, alerting, query, needle)) continue
    matched++
    listed.push({ node, alerting })
  }
  summary.services = rows.size
  const size = PAGE_SIZE[query.view]
  // a fleet that fits on one page shows every node; a larger one shows its problems, and its
  // healthy nodes only as counts in their service's row
  const collapsed = !filtered && listed.length > size
  const shown = collapsed ? listed.filter((entry) => entry.node.health !== 'fresh' || entry.alerting) : listed

  shown.sort((a, b) => urgency(a) - urgency(b) || naturalCompare(a.node.service, b.node.service) || naturalCompare(a.node.nodeId, b.node.nodeId))
  const names = [...rows.keys()].sort(naturalCompare)
  const serviceRows = collapsed ? names.map((name) => rows.get(name)!) : []

  const total = shown.length + serviceRows.length
  const pages = Math.max(1, Math.ceil(total / size))
  const page = Math.min(query.page, pages)
  const from = (page - 1) * size
  const to = from + size
  const pageNodes = shown.slice(from, to)
  const pageRows = serviceRows.slice(Math.max(0, from - shown.length), Math.max(0, to - shown.length))

  return {
    generatedAt: now,
    query: { ...query, page },
    filtered,
    collapsed,
    summary,
    matched,
    nodes: withLeads(pageNodes),
    services: pageRows,
    serviceOptions: names.slice(0, SERVICE_OPTIONS),
    moreServices: Math.max(0, names.length - SERVICE_OPTIONS),
    page,
    pages,
  }
}

function matches(node: NodeView, alerting: boolean, query: PulsePageQuery, needle: string | undefined): boolean {
  if (query.service !== undefined && node.service !== query.service) return false
  if (query.health && !query.health.some((health) => (health === 'alerting' ? alerting : node.health === health))) return false
  if (needle === undefined) return true
  const hb = node.heartbeat
  return [node.service, node.nodeId, hb.hostname, hb.appVersion, hb.version].some((value) => typeof value === 'string' && value.toLowerCase().includes(needle))
}

/** dead, then stale, then alerting, then the rest */
function urgency(entry: { node: NodeView; alerting: boolean }): number {
  return HEALTH_RANK[entry.node.health] * 2 + (entry.alerting ? 0 : 1)
}

/** Cards are titled with the hostname, unless several nodes of the page share it (one host, many processes). */
function withLeads(entries: { node: NodeView; alerting: boolean }[]): NodeEntry[] {
  const hosts = new Map<string, number>()
  for (const { node } of entries) {
    const host = hostnameOf(node)
    hosts.set(host, (hosts.get(host) ?? 0) + 1)
  }
  return entries.map(({ node, alerting }) => ({ kind: 'node', node, alerting, leadWithId: (hosts.get(hostnameOf(node)) ?? 0) > 1 }))
}

function hostnameOf(node: NodeView): string {
  return typeof node.heartbeat.hostname === 'string' ? node.heartbeat.hostname : ''
}

function newRow(name: string): ServiceRow {
  return { kind: 'service', name, nodes: 0, counts: { fresh: 0, stale: 0, dead: 0 }, alerting: 0, worst: 'fresh', cpu: null, memory: null }
}

function addToRow(row: ServiceRow, node: NodeView, alerting: boolean): void {
  row.nodes++
  row.counts[node.health]++
  if (alerting) row.alerting++
  if (HEALTH_RANK[node.health] < HEALTH_RANK[row.worst]) row.worst = node.health
  // a dead node's last values are history, not the service's spread now
  if (node.health === 'dead') return
  row.cpu = widen(row.cpu, num(record(node.heartbeat.cpu).system))
  row.memory = widen(row.memory, memoryUsedPercent(node.heartbeat.memory))
}

function memoryUsedPercent(memory: unknown): number | null {
  const system = record(record(memory).system)
  const total = num(system.total, { min: 0 })
  const free = num(system.free, { min: 0 })
  const used = num(system.used, { min: 0 }) ?? (total !== null && free !== null ? Math.max(0, total - free) : null)
  return share(used, total)
}

function widen(spread: Spread | null, value: number | null): Spread | null {
  if (value === null) return spread
  // agents may send anything: a spread is of percents, so it stays within 0–100
  const v = Math.min(100, Math.max(0, value))
  return spread === null ? { min: v, max: v } : { min: Math.min(spread.min, v), max: Math.max(spread.max, v) }
}

/** The query as a URL's search part, in one order with defaults left out: a cache key and a link. */
export function queryString(query: Partial<PulsePageQuery>): string {
  const params = new URLSearchParams()
  if (query.service) params.set('service', query.service)
  if (query.q) params.set('q', query.q)
  if (query.health && query.health.length > 0) params.set('health', HEALTH_FILTERS.filter((h: HealthFilter) => query.health!.includes(h)).join(','))
  if (query.view && query.view !== 'cards') params.set('view', query.view)
  if (query.page && query.page > 1) params.set('page', String(query.page))
  const text = params.toString().replaceAll('%2C', ',')
  return text ? `?${text}` : ''
}
