/**
 * The collector's output: an immutable picture of everything Redis held at one tick. Every page,
 * fragment and API answer is built from the latest snapshot, never from Redis directly.
 */
import type { PartialHeartbeat } from '@gravito/quasar/protocol'

export interface NodeRecord {
  readonly service: string
  readonly nodeId: string
  readonly heartbeat: PartialHeartbeat
  /** the heartbeat's own timestamp (epoch ms) */
  readonly lastSeenAt: number
  /** false once the key has expired or been deleted; the record is kept for the grace period */
  readonly keyPresent: boolean
}

export interface RedisStatus {
  readonly up: boolean
  /** epoch ms of the first failed refresh of the current outage */
  readonly downSince: number | null
  readonly lastError: string | null
}

export interface Snapshot {
  /** increases by one per snapshot; rendered fragments are cached per version */
  readonly version: number
  readonly generatedAt: number
  readonly redis: RedisStatus
  /** sorted by service, then node id */
  readonly nodes: readonly NodeRecord[]
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  version: 0,
  generatedAt: 0,
  redis: Object.freeze({ up: false, downSince: null, lastError: 'not read yet' }),
  nodes: Object.freeze([]) as readonly NodeRecord[],
})

export function byServiceThenNode(a: NodeRecord, b: NodeRecord): number {
  return a.service === b.service ? compare(a.nodeId, b.nodeId) : compare(a.service, b.service)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
