/**
 * One heartbeat value as a node record: parsed within its size limit, validated, and its clock
 * checked against the console's. Whatever is wrong with it is reported against its key; a value
 * that cannot be read gives null and the caller keeps what it knew.
 */
import { createHash } from 'node:crypto'
import { parseAgentJson, readHeartbeat, SECONDS_REASON } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { reportSkips } from '../collector/skip-report.js'
import type { NodeRecord } from '../collector/snapshot.js'
import { clockNoteOf, clockNoteReason } from '../collector/health.js'

export function heartbeatRecord(key: string, ref: { service: string; nodeId: string }, raw: string, now: number, badData: BadDataLog, maxValueBytes: number): NodeRecord | null {
  const json = parseAgentJson(raw, maxValueBytes)
  if (!json.ok) {
    badData.report(key, json.error)
    return null
  }
  const beat = readHeartbeat(json.value)
  if (!beat.ok) {
    badData.report(key, beat.error)
    return null
  }
  reportSkips(badData, key, beat.skipped, beat.skippedTotal)
  // a beat in seconds was read as seconds; it is flagged all the same, as the agent should know
  const clockNote = beat.secondsTimestamp ? 'seconds' : clockNoteOf(beat.value.timestamp, now)
  if (beat.secondsTimestamp) badData.report(key, `timestamp: ${SECONDS_REASON}`)
  else if (clockNote) badData.report(key, clockNoteReason(clockNote))
  return {
    service: ref.service,
    nodeId: ref.nodeId,
    heartbeat: beat.value,
    lastSeenAt: beat.value.timestamp,
    seenAt: now,
    keyPresent: true,
    goneAt: null,
    ...(clockNote ? { clockNote } : {}),
    ...(beat.skippedTotal > 0 ? { skipped: beat.skipped, skippedTotal: beat.skippedTotal } : {}),
    ...(beat.legacyQueues ? { legacyAgent: true } : {}),
  }
}

/**
 * Tells a value read again from a new one. An agent that forged a collision would only keep its
 * own node's previous reading on screen.
 */
export function digestOfValue(raw: string): string {
  return createHash('sha1').update(raw).digest('base64url')
}
