/**
 * The collector's output: an immutable picture of everything Redis held at one tick. Every page,
 * fragment and API answer is built from the latest snapshot, never from Redis directly.
 */
import type { PartialHeartbeat } from '@gravito/quasar/protocol'
import type { ClockNote } from '../nodes/health.js'

export interface NodeRecord {
  readonly service: string
  readonly nodeId: string
  readonly heartbeat: PartialHeartbeat
  /** the heartbeat's own timestamp (epoch ms, the agent's clock): shown, never used for health */
  readonly lastSeenAt: number
  /** console time (epoch ms) at which the collector last read a new value at the node's key */
  readonly seenAt: number
  /** false once the key has expired or been deleted; the record is kept for the grace period */
  readonly keyPresent: boolean
  /** console time the key was first seen missing; null while it is present (keyPresent) */
  readonly goneAt: number | null
  /** set when the heartbeat's timestamp cannot be the time it was written */
  readonly clockNote?: ClockNote
}

export interface RedisStatus {
  readonly up: boolean
  /** epoch ms of the first failed refresh of the current outage */
  readonly downSince: number | null
  readonly lastError: string | null
}

/**
 * What each collector part contributes. A feature area adds its part by augmenting this interface
 * (`declare module '../collector/snapshot.js' { interface SnapshotParts { … } }`) and registering a
 * CollectorPart, so the loop itself never changes when a feature is added.
 */
export interface SnapshotParts {
  /** sorted by service, then node id */
  readonly nodes: readonly NodeRecord[]
}

export interface Snapshot extends SnapshotParts {
  /** increases by one per snapshot; rendered fragments are cached per version */
  readonly version: number
  readonly generatedAt: number
  readonly redis: RedisStatus
}

export interface CollectorPart<K extends keyof SnapshotParts = keyof SnapshotParts> {
  readonly key: K
  /** the value before the first successful read */
  readonly initial: SnapshotParts[K]
  collect(now: number, previous: Snapshot): Promise<SnapshotParts[K]>
}

export function byServiceThenNode(a: NodeRecord, b: NodeRecord): number {
  return a.service === b.service ? compare(a.nodeId, b.nodeId) : compare(a.service, b.service)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
