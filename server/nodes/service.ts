/**
 * Builds what the pulse pages and API show from a snapshot: services with their nodes, each with a
 * health judged at the snapshot's time. Pure functions of (snapshot, filter): no request, no Redis.
 */
import type { PartialHeartbeat, Skip } from '@gravito/quasar/protocol'
import type { NodeRecord, Snapshot } from '../collector/snapshot.js'
import { healthOf, type ClockNote, type Health } from '../collector/health.js'

export interface NodeView {
  service: string
  nodeId: string
  health: Health
  /** console time the last new beat was read */
  seenAt: number
  /** milliseconds since then, at the snapshot's time */
  ageMs: number
  /** why the heartbeat's own timestamp is implausible, or null */
  clockNote: ClockNote | null
  heartbeat: PartialHeartbeat
  /** heartbeat fields dropped, clamped or cut (at most MAX_SKIPS), and how many in all */
  skipped?: readonly Skip[]
  skippedTotal?: number
  /** the beat came in the original Gravito Quasar agent's format */
  legacyAgent?: boolean
}

export interface ServiceGroup {
  name: string
  nodes: NodeView[]
  counts: HealthCounts
}

export interface HealthCounts {
  fresh: number
  stale: number
  dead: number
}

export interface PulseView {
  generatedAt: number
  services: ServiceGroup[]
  /** every service name, for the filter, whatever the filter selected */
  serviceNames: string[]
  summary: HealthCounts & { services: number; nodes: number }
}

export function toNodeView(record: NodeRecord, now: number): NodeView {
  return {
    service: record.service,
    nodeId: record.nodeId,
    health: healthOf(record.seenAt, record.keyPresent, now),
    seenAt: record.seenAt,
    ageMs: Math.max(0, now - record.seenAt),
    clockNote: record.clockNote ?? null,
    heartbeat: record.heartbeat,
    ...(record.skippedTotal ? { skipped: record.skipped ?? [], skippedTotal: record.skippedTotal } : {}),
    ...(record.legacyAgent ? { legacyAgent: true } : {}),
  }
}

export function buildPulseView(snapshot: Snapshot, serviceFilter?: string): PulseView {
  const groups = new Map<string, ServiceGroup>()
  const summary = { services: 0, nodes: 0, fresh: 0, stale: 0, dead: 0 }
  for (const record of snapshot.nodes) {
    const node = toNodeView(record, snapshot.generatedAt)
    let group = groups.get(node.service)
    if (!group) {
      group = { name: node.service, nodes: [], counts: { fresh: 0, stale: 0, dead: 0 } }
      groups.set(node.service, group)
    }
    group.nodes.push(node)
    group.counts[node.health]++
    summary.nodes++
    summary[node.health]++
  }
  summary.services = groups.size
  const all = [...groups.values()]
  return {
    generatedAt: snapshot.generatedAt,
    serviceNames: all.map((group) => group.name),
    services: serviceFilter ? all.filter((group) => group.name === serviceFilter) : all,
    summary,
  }
}

/**
 * The JSON shape of `GET /api/pulse/nodes`: heartbeat fields (`timestamp` is the agent's) plus
 * health, `lastSeenAt` (console time the last new beat was read) and `clockNote` when the
 * timestamp is implausible.
 */
export function toNodesApi(view: PulseView) {
  return {
    generatedAt: view.generatedAt,
    services: view.services.map((group) => ({ name: group.name, nodes: group.nodes.map(toNodeApi) })),
  }
}

/** One node of `GET /api/pulse/nodes` (the route writes them a group at a time: nodes/render.ts). */
export function toNodeApi(node: NodeView) {
  return {
    ...node.heartbeat,
    id: node.nodeId,
    service: node.service,
    health: node.health,
    lastSeenAt: node.seenAt,
    ...(node.clockNote ? { clockNote: node.clockNote } : {}),
    ...(node.skippedTotal ? { skipped: node.skipped, skippedTotal: node.skippedTotal } : {}),
    ...(node.legacyAgent ? { legacyAgent: true } : {}),
  }
}
