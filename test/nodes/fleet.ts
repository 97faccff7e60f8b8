/**
 * Writes nodes the ways real agents do, for the node collector's tests: the SDK's way (key and
 * its service's index), an older agent's (key and the legacy shared index), a bare agent's (the
 * key only, found by SCAN), or both indexes at once.
 */
import type { Redis } from 'ioredis'
import { createConsoleKeys } from '../../server/redis/keys.js'
import type { BadDataLog } from '../../server/collector/bad-data-log.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

export const keys = createConsoleKeys('gravito:quasar:')

export type Style = 'indexed' | 'legacy' | 'scan' | 'both'
export const STYLES: readonly Style[] = ['indexed', 'legacy', 'scan', 'both']

export interface FleetNode {
  service: string
  nodeId: string
  style: Style
}

/** One beat: `at` is the console's time of writing, `timestamp` what the agent puts in the beat. */
export async function writeBeat(redis: Redis, node: FleetNode, at: number, timestamp = at, extra: object = {}): Promise<void> {
  const beat = { ...sampleHeartbeat({ timestamp, id: node.nodeId, service: node.service }), ...extra }
  const multi = redis.multi().set(keys.node(node.service, node.nodeId), JSON.stringify(beat), 'EX', 30)
  if (node.style === 'indexed' || node.style === 'both') multi.zadd(keys.serviceNodeIndex(node.service), timestamp, node.nodeId)
  if (node.style === 'legacy' || node.style === 'both') multi.zadd(keys.nodeIndex(), timestamp, keys.indexMember(node.service, node.nodeId))
  await multi.exec()
}

/** A bad-data log that keeps every report, unthrottled. */
export function recordingBadData(): BadDataLog & { reports: { key: string; reason: string }[]; about(key: string): string[] } {
  const reports: { key: string; reason: string }[] = []
  return {
    reports,
    report: (key, reason) => void reports.push({ key, reason }),
    about: (key) => reports.filter((r) => r.key === key).map((r) => r.reason),
  }
}

/** Bytes Redis has sent to clients since it started (INFO stats). */
export async function bytesSent(redis: Redis): Promise<number> {
  const info = await redis.info('stats')
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? NaN)
}
