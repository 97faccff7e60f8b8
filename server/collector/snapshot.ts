/**
 * The collector's output: an immutable picture of everything Redis held at one tick. Every page,
 * fragment and API answer is built from the latest snapshot, never from Redis directly.
 */
import type { PartialHeartbeat, Skip } from '@gravito/quasar/protocol'
import type { ClockNote } from './health.js'
import type { DegradedShard } from '../redis/cluster-health.js'

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
  /** heartbeat fields dropped, clamped or cut, with why (at most MAX_SKIPS; agent text: escape) */
  readonly skipped?: readonly Skip[]
  /** every skip, `skipped` holding the first of them */
  readonly skippedTotal?: number
  /** the beat's queues came in the original Gravito Quasar agent's format */
  readonly legacyAgent?: boolean
}

export interface RedisStatus {
  /** Redis answered the collector's probe this tick; parts failing on their own do not change it */
  readonly up: boolean
  /** epoch ms of the first unanswered probe of the current outage */
  readonly downSince: number | null
  /**
   * Redis Cluster masters that do not serve their slots while others answer (server/redis/cluster-health.ts);
   * absent when every shard serves, and always on a single Redis
   */
  readonly shards?: readonly DegradedShard[]
}

/**
 * How one collector part fared. A part that fails keeps its last good data in the snapshot; this
 * says how old that data is and why it was not replaced. No exception text: that goes to the log
 * under `errorId`, because agent-written data can end up in an error message and every viewer
 * would see it.
 */
export interface PartStatus {
  /** the last attempt replaced the part's data */
  readonly ok: boolean
  /** attempts in a row that did not (0 while ok) */
  readonly failures: number
  /** when the data shown was read (epoch ms); null before the first good read */
  readonly readAt: number | null
  /** why the last attempt failed, in plain words; null while ok */
  readonly reason: string | null
  /** the id logged with the last failure's error, to find it in the log */
  readonly errorId: string | null
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
  /** how long the tick took to read every part and the probe (ms of real time, whatever the injected clock says) */
  readonly readMs: number
  readonly redis: RedisStatus
  /** by part key (`nodes`, `queues`, …) */
  readonly parts: Readonly<Record<string, PartStatus>>
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
