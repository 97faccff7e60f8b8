/**
 * What alert rules are evaluated over: a flat list of (metric, target, value) samples taken from
 * one snapshot. The engine sees only this, so a new data source (queues) plugs in here without the
 * engine or its tests changing.
 */
import type { NodeRecord, Snapshot } from '../collector/snapshot.js'
import { isLost } from '../collector/health.js'
import { queueRecordsOf, type QueuesPart } from '../queues/records.js'

export const METRICS = ['cpu', 'memory', 'disk', 'node_lost', 'queue_backlog', 'queue_failed', 'queue_wait'] as const
export type MetricName = (typeof METRICS)[number]

/** Metrics measured in percent (0–100); the others are counts. */
export const PERCENT_METRICS: ReadonlySet<MetricName> = new Set(['cpu', 'memory', 'disk'])
export const QUEUE_METRICS: ReadonlySet<MetricName> = new Set(['queue_backlog', 'queue_failed', 'queue_wait'])
/** Metrics measured in milliseconds: their rules take durations (`above: 5m`). */
export const DURATION_METRICS: ReadonlySet<MetricName> = new Set(['queue_wait'])

export interface MetricTarget {
  /** `{service}/{nodeId}` for node metrics, `{service}/{queue}` for queue metrics */
  readonly id: string
  readonly service: string
  readonly nodeId?: string
  readonly queue?: string
}

/** One value; the samples of one node or queue share their target object. */
export interface MetricSample {
  readonly target: MetricTarget
  readonly metric: MetricName
  readonly value: number
}

export interface MetricSource {
  /** the time the values were read (epoch ms) */
  readonly at: number
  readonly samples: readonly MetricSample[]
  /**
   * Metrics with no fresh reading this time (the collector part behind them failed and the
   * snapshot holds its old data). Their rules are not evaluated: a stale value may neither fire,
   * resolve nor forget an alert, and a pending window cannot count the tick as held.
   */
  readonly unread?: ReadonlySet<MetricName>
}

/** which collector part each metric comes from; a failed part leaves its metrics unread */
const NODE_METRICS: readonly MetricName[] = ['cpu', 'memory', 'disk', 'node_lost']
const UNREAD_BY_FAILED_PARTS = {
  none: new Set<MetricName>(),
  nodes: new Set<MetricName>(NODE_METRICS),
  queues: new Set<MetricName>(QUEUE_METRICS),
  both: new Set<MetricName>([...NODE_METRICS, ...QUEUE_METRICS]),
} as const

/**
 * Node metrics: cpu = system CPU %, memory = system used/total %, disk = free/total % (so disk rules
 * use `below`), node_lost = 1 once the console has read no new beat for 30 s by its own clock, and 0
 * otherwise: a key that vanished with a Redis flush or restart is not a lost node while its agent
 * beats again in time. A lost node's last values are stale, so it reports node_lost only.
 */
export function metricsFromSnapshot(snapshot: Snapshot): MetricSource {
  const samples: MetricSample[] = []
  const nodesStale = partFailed(snapshot, 'nodes')
  const queuesStale = partFailed(snapshot, 'queues')
  if (!nodesStale) for (const record of snapshot.nodes) addNode(samples, record, snapshot.generatedAt)
  if (!queuesStale) for (const queue of queueItems(snapshot)) addQueue(samples, queue)
  const unread = UNREAD_BY_FAILED_PARTS[nodesStale ? (queuesStale ? 'both' : 'nodes') : queuesStale ? 'queues' : 'none']
  return { at: snapshot.generatedAt, samples, unread }
}

/**
 * A part that failed this tick left its previous data in the snapshot: a node record's age then
 * grows with the failure (a live node would read as lost), and a queue's counts are old. A part the
 * snapshot has no status for (none registered) is read as it is.
 */
function partFailed(snapshot: Snapshot, key: 'nodes' | 'queues'): boolean {
  return snapshot.parts[key]?.ok === false
}

/**
 * Targets by record: the collector hands back the same record object while a node's beat is
 * unchanged, and reusing the target (and its id string, whose hash is then cached) makes the
 * engine's per-sample lookups cheaper.
 */
const targetOf = new WeakMap<NodeRecord, MetricTarget>()

function addNode(samples: MetricSample[], record: NodeRecord, now: number): void {
  let target = targetOf.get(record)
  if (!target) {
    target = { id: `${record.service}/${record.nodeId}`, service: record.service, nodeId: record.nodeId }
    targetOf.set(record, target)
  }
  // lost by the console's clock: no new beat read for 30 s. A key gone with all the others (Redis
  // restarted or flushed) is no lost node while its agent beats again within its interval, and its
  // last values stand until then, as they do between any two beats
  const lost = isLost(record.seenAt, now)
  samples.push({ target, metric: 'node_lost', value: lost ? 1 : 0 })
  if (lost) return
  const beat = record.heartbeat
  // each field of a beat is read on its own: cpu.process may be there without cpu.system
  if (beat.cpu?.system !== undefined) samples.push({ target, metric: 'cpu', value: beat.cpu.system })
  const memory = beat.memory?.system
  if (memory?.total !== undefined && memory.used !== undefined && memory.total > 0) samples.push({ target, metric: 'memory', value: (memory.used / memory.total) * 100 })
  const disk = beat.disk
  if (disk?.total !== undefined && disk.free !== undefined && disk.total > 0) samples.push({ target, metric: 'disk', value: (disk.free / disk.total) * 100 })
}

interface QueueItem {
  service: string
  name: string
  waiting?: number
  /** jobs held by a paused queue: part of the backlog (they run once the queue is resumed) */
  paused?: number
  failed?: number
  /** age of the oldest waiting (or paused) job when the counts were read, ms */
  oldestWaitingMs?: number
}

function addQueue(samples: MetricSample[], item: QueueItem): void {
  const target: MetricTarget = { id: `${item.service}/${item.name}`, service: item.service, queue: item.name }
  // the backlog counts paused jobs: a queue paused with 5,000 jobs held is a backlog, and pausing
  // must not silence (or resolve) its alert
  if (item.waiting !== undefined) samples.push({ target, metric: 'queue_backlog', value: item.waiting + (item.paused ?? 0) })
  if (item.failed !== undefined) samples.push({ target, metric: 'queue_failed', value: item.failed })
  const wait = waitOf(item)
  if (wait !== undefined) samples.push({ target, metric: 'queue_wait', value: wait })
}

/**
 * queue_wait: the age of the oldest waiting (or paused) job, as the reader measured it. A queue
 * known to hold no such job waits 0 (so a firing alert resolves once the backlog is gone); one that
 * holds jobs of unknown age (an agent that does not report `oldestWaitingMs`, a reader that could
 * not read it) gives no sample: unknown is not "no wait", and it neither fires nor resolves.
 */
function waitOf(item: QueueItem): number | undefined {
  if (item.oldestWaitingMs !== undefined) return item.oldestWaitingMs
  if (item.waiting === 0 && (item.paused ?? 0) === 0) return 0
  return undefined
}

/** The alerts' view of the snapshot's queue records: a count the reader did not measure is left out. */
export function queueItems(snapshot: { readonly queues?: QueuesPart }): QueueItem[] {
  return queueRecordsOf(snapshot).map((record) => {
    const item: QueueItem = { service: record.service, name: record.name }
    const waiting = count(record.waiting)
    const failed = count(record.failed)
    const paused = count(record.paused)
    const oldestWaitingMs = count(record.oldestWaitingMs)
    if (oldestWaitingMs !== undefined) item.oldestWaitingMs = oldestWaitingMs
    if (waiting !== undefined) item.waiting = waiting
    if (paused !== undefined) item.paused = paused
    if (failed !== undefined) item.failed = failed
    return item
  })
}

function count(value: number | null | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
}
