/**
 * What a page says about the data it shows: whether Redis answers, and which of the collector
 * parts the page draws on failed their last attempts, with how old the data shown is. Built from
 * the snapshot only, so a fragment rendered once per snapshot says the same to every viewer.
 */
import type { RedisStatus, Snapshot } from './snapshot.js'

export interface DegradedPart {
  /** for people: "Queue reading" */
  readonly label: string
  readonly failures: number
  readonly late: boolean
  /** age of the data shown at the snapshot's time; null when nothing was ever read */
  readonly dataAgeMs: number | null
  readonly errorId: string | null
}

/** the snapshot's Redis status plus this page's failing parts */
export interface ReadStatus extends RedisStatus {
  readonly degraded: readonly DegradedPart[]
}

const LABELS: Readonly<Record<string, string>> = {
  nodes: 'Node reading',
  queues: 'Queue reading',
  slow: 'Slow log reading',
  commands: 'Command reading',
  alerts: 'Alert reading',
}

export const LATE_REASON = 'did not answer in time'

export function readStatus(snapshot: Pick<Snapshot, 'redis' | 'parts' | 'generatedAt'>, parts: readonly string[]): ReadStatus {
  const degraded: DegradedPart[] = []
  for (const key of parts) {
    const part = snapshot.parts[key]
    if (!part || part.ok || part.failures === 0) continue
    degraded.push({
      label: LABELS[key] ?? `Reading ${key}`,
      failures: part.failures,
      late: part.reason === LATE_REASON,
      dataAgeMs: part.readAt === null ? null : snapshot.generatedAt - part.readAt,
      errorId: part.errorId,
    })
  }
  return { up: snapshot.redis.up, downSince: snapshot.redis.downSince, degraded, ...(snapshot.redis.shards ? { shards: snapshot.redis.shards } : {}) }
}

/** the parts behind a node page or card: nodes, whose failure leaves health judged on old data */
export const NODE_PARTS: readonly string[] = ['nodes']
