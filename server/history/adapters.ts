/**
 * Turn a snapshot into history rows, one per series. The recorder only knows rows, so a new data
 * source plugs in as one more adapter, registered by its own area (`app.history.addRows`; the
 * queues area adds its rows that way). Everything read here came from agents: numbers are taken
 * only when finite and not negative, anything else is recorded as missing.
 */
import type { Snapshot } from '../collector/snapshot.js'
import type { SeriesRef } from './store.js'

export interface SeriesRow extends SeriesRef {
  /** when the values were measured (epoch ms); the recorder buckets by it */
  readonly t: number
  /** in the order of METRICS[kind] */
  readonly values: readonly (number | null)[]
}

export type RowAdapter = (snapshot: Snapshot) => SeriesRow[]

/** Per node: CPU system and process, system memory used (%), process RSS, event-loop lag. */
export const nodeRows: RowAdapter = (snapshot) =>
  snapshot.nodes.map((record) => {
    const beat = record.heartbeat
    const system = beat.memory?.system
    const used = system ? (nonNegative(system.used) ?? diff(system.total, system.free)) : null
    const total = system ? nonNegative(system.total) : null
    return {
      kind: 'node',
      service: record.service,
      id: record.nodeId,
      // the beat's own time: every replica that reads this beat puts it in the same bucket; a
      // timestamp flagged implausible (seconds, far off) would file it nowhere useful, so such a
      // node is charted by when this console read the beat
      t: record.clockNote === undefined ? record.lastSeenAt : record.seenAt,
      values: [
        nonNegative(beat.cpu?.system),
        nonNegative(beat.cpu?.process),
        used !== null && total !== null && total > 0 ? (used / total) * 100 : null,
        nonNegative(beat.memory?.process?.rss),
        nonNegative(beat.eventLoop?.lagMs),
      ],
    }
  })

/** The value when it is a finite number not below zero, else missing. */
export function nonNegative(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null
}

function diff(total: unknown, free: unknown): number | null {
  const t = nonNegative(total)
  const f = nonNegative(free)
  return t !== null && f !== null ? Math.max(0, t - f) : null
}
