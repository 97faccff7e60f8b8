/**
 * What /metrics says about the fleet, its queues and alerts, from one snapshot: plain samples
 * (labels and a value), built once per snapshot and read by every scrape until the next tick.
 * Node ids never become labels (a fleet that scales out would be a series per pod); nodes are
 * counted per service and health, as the pulse page counts them.
 */
import type { Snapshot } from '../collector/snapshot.js'
import { healthOf, type Health } from '../collector/health.js'
import { queueId, queueRecordsOf, type QueueRecord } from '../queues/records.js'
import { alertsOf } from '../alerts/collector-part.js'
import { keptNames, labelValue, MAX_QUEUES, MAX_SERVICES, OTHER } from './labels.js'

export interface Sample<L extends string> {
  readonly labels: Readonly<Record<L, string>>
  readonly value: number
}

type QueueLabel = 'service' | 'queue'

export interface MetricsView {
  readonly nodes: readonly Sample<'service' | 'health'>[]
  readonly queueJobs: readonly Sample<QueueLabel | 'state'>[]
  /** 1 when the queue's counts were read, 0 when its reader reported an error instead */
  readonly queueUp: readonly Sample<QueueLabel>[]
  readonly queueOldestWaitSeconds: readonly Sample<QueueLabel>[]
  readonly queueThroughput: readonly Sample<QueueLabel>[]
  readonly queueProcessed: readonly Sample<QueueLabel>[]
  readonly queuePaused: readonly Sample<QueueLabel>[]
  readonly alertsFiring: readonly Sample<'rule' | 'metric' | 'service'>[]
  /** how many services and queues were counted under OTHER rather than labelled */
  readonly folded: readonly Sample<'kind'>[]
}

export const HEALTHS: readonly Health[] = ['fresh', 'stale', 'dead']

/** the job counts a queue record can carry, by the state label they get (BullMQ's state names) */
const JOB_STATES = [
  ['waiting', 'waiting'],
  ['active', 'active'],
  ['delayed', 'delayed'],
  ['failed', 'failed'],
  ['completed', 'completed'],
  ['paused', 'paused'],
  ['waiting-children', 'waitingChildren'],
] as const satisfies readonly (readonly [string, keyof QueueRecord])[]

export function buildMetricsView(snapshot: Snapshot): MetricsView {
  const nodes = nodeCounts(snapshot)
  const queues = queueSamples(queueRecordsOf(snapshot))
  return {
    nodes: nodes.samples,
    ...queues,
    alertsFiring: firingCounts(snapshot),
    folded: [
      { labels: { kind: 'service' }, value: nodes.folded },
      { labels: { kind: 'queue' }, value: queues.foldedQueues },
    ],
  }
}

/** nodes per service and health, judged at the snapshot's time as every page judges them */
function nodeCounts(snapshot: Snapshot): { samples: Sample<'service' | 'health'>[]; folded: number } {
  const kept = keptNames(
    snapshot.nodes.map((node) => node.service),
    MAX_SERVICES,
  )
  const counts = new Map<string, Record<Health, number>>()
  const folded = new Set<string>()
  for (const node of snapshot.nodes) {
    const service = kept.has(node.service) ? node.service : OTHER
    if (service === OTHER) folded.add(node.service)
    let byHealth = counts.get(service)
    if (!byHealth) counts.set(service, (byHealth = { fresh: 0, stale: 0, dead: 0 }))
    byHealth[healthOf(node.seenAt, node.keyPresent, snapshot.generatedAt)] += 1
  }
  const samples: Sample<'service' | 'health'>[] = []
  // every health of every service, zeros too: a series that vanishes reads as "no data", not 0
  for (const [service, byHealth] of counts) {
    for (const health of HEALTHS) samples.push({ labels: { service: labelValue(service), health }, value: byHealth[health] })
  }
  return { samples, folded: folded.size }
}

function queueSamples(records: readonly QueueRecord[]) {
  const kept = keptNames(
    records.map((record) => queueId(record.service, record.name)),
    MAX_QUEUES,
  )
  const queueJobs: Sample<QueueLabel | 'state'>[] = []
  const queueUp: Sample<QueueLabel>[] = []
  const queueOldestWaitSeconds: Sample<QueueLabel>[] = []
  const queueThroughput: Sample<QueueLabel>[] = []
  const queueProcessed: Sample<QueueLabel>[] = []
  const queuePaused: Sample<QueueLabel>[] = []
  const other = { jobs: new Map<string, number>(), oldestWaitMs: null as number | null, throughput: null as number | null, count: 0 }

  for (const record of records) {
    if (!kept.has(queueId(record.service, record.name))) {
      // past the bound: summed into one (other) queue, so totals over all queues stay true
      other.count += 1
      for (const [state, field] of JOB_STATES) {
        const count = record[field]
        if (typeof count === 'number') other.jobs.set(state, (other.jobs.get(state) ?? 0) + count)
      }
      if (record.oldestWaitingMs !== undefined) other.oldestWaitMs = Math.max(other.oldestWaitMs ?? 0, record.oldestWaitingMs)
      if (record.throughput !== undefined) other.throughput = (other.throughput ?? 0) + record.throughput
      continue
    }
    const labels = { service: labelValue(record.service), queue: labelValue(record.name) }
    queueUp.push({ labels, value: record.error === undefined ? 1 : 0 })
    for (const [state, field] of JOB_STATES) {
      const count = record[field]
      // null or absent: not measured, or the driver cannot count it; never shown as a zero
      if (typeof count === 'number') queueJobs.push({ labels: { ...labels, state }, value: count })
    }
    if (record.oldestWaitingMs !== undefined) queueOldestWaitSeconds.push({ labels, value: record.oldestWaitingMs / 1000 })
    if (record.throughput !== undefined) queueThroughput.push({ labels, value: record.throughput })
    if (record.processed !== undefined) queueProcessed.push({ labels, value: record.processed })
    if (record.isPaused !== undefined) queuePaused.push({ labels, value: record.isPaused ? 1 : 0 })
  }

  if (other.count > 0) {
    const labels = { service: OTHER, queue: OTHER }
    for (const [state, count] of other.jobs) queueJobs.push({ labels: { ...labels, state }, value: count })
    if (other.oldestWaitMs !== null) queueOldestWaitSeconds.push({ labels, value: other.oldestWaitMs / 1000 })
    if (other.throughput !== null) queueThroughput.push({ labels, value: other.throughput })
  }
  return { queueJobs, queueUp, queueOldestWaitSeconds, queueThroughput, queueProcessed, queuePaused, foldedQueues: other.count }
}

/**
 * Firing alert episodes per rule, metric and service. One rule firing for every node of a service
 * is one series with a count, not a series per node.
 */
function firingCounts(snapshot: Snapshot): Sample<'rule' | 'metric' | 'service'>[] {
  const counts = new Map<string, { rule: string; metric: string; service: string; count: number }>()
  // by name, so which services keep a label does not depend on the order alerts fired in
  const kept = keptNames([...new Set(alertsOf(snapshot).firing.map((alert) => alert.service))].sort(), MAX_SERVICES)
  for (const alert of alertsOf(snapshot).firing) {
    const service = kept.has(alert.service) ? alert.service : OTHER
    const key = `${alert.rule}\n${alert.metric}\n${service}`
    const known = counts.get(key)
    if (known) known.count += 1
    else counts.set(key, { rule: alert.rule, metric: alert.metric, service, count: 1 })
  }
  return [...counts.values()].map(({ rule, metric, service, count }) => ({ labels: { rule: labelValue(rule), metric, service: labelValue(service) }, value: count }))
}
