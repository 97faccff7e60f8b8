/**
 * Node health is judged by the console's clock: from when the collector last read a new beat
 * (`seenAt`) and whether the key still exists. The heartbeat's own timestamp is the agent's claim:
 * shown, checked for plausibility, never used for liveness, or a clock in seconds would show a
 * live node dead and a timestamp of 1e308 a stopped node alive for ever.
 * Thresholds follow the protocol: a beat every 10–15 s under a 30 s expiry.
 */
export const FRESH_FOR_MS = 15_000
export const DEAD_AFTER_MS = 30_000
/**
 * An agent clock further than this from the console's is flagged, and index scores further ahead
 * are ignored and removed. NTP keeps clocks within a second; minutes apart is a misconfiguration.
 */
export const CLOCK_SKEW_LIMIT_MS = 2 * 60_000

export type Health = 'fresh' | 'stale' | 'dead'

/** `seenAt`: console time of the last new beat read. A key that is gone makes the node dead at once. */
export function healthOf(seenAt: number, keyPresent: boolean, now: number): Health {
  if (!keyPresent) return 'dead'
  const age = Math.max(0, now - seenAt)
  if (age > DEAD_AFTER_MS) return 'dead'
  return age > FRESH_FOR_MS ? 'stale' : 'fresh'
}

/**
 * Lost: no new beat read for DEAD_AFTER_MS, whether or not the key is there. A key that vanished
 * with all the others (Redis restarted or flushed) is not a lost node while its agent beats again
 * within its interval.
 */
export function isLost(seenAt: number, now: number): boolean {
  return now - seenAt > DEAD_AFTER_MS
}

/** Why a heartbeat's timestamp cannot be the time it was written. */
export type ClockNote = 'seconds' | 'ahead' | 'behind'

const DAY_MS = 86_400_000

/** Judges a beat's timestamp against the console's time when the beat was read. */
export function clockNoteOf(timestamp: number, now: number): ClockNote | null {
  if (timestamp > now + CLOCK_SKEW_LIMIT_MS) return 'ahead'
  if (timestamp >= now - CLOCK_SKEW_LIMIT_MS) return null
  return Math.abs(timestamp * 1000 - now) <= DAY_MS ? 'seconds' : 'behind'
}

const LIMIT = `${CLOCK_SKEW_LIMIT_MS / 60_000} min`
const CLOCK_NOTE_REASONS: Record<ClockNote, string> = {
  seconds: 'timestamp looks like seconds, not milliseconds',
  ahead: `timestamp is more than ${LIMIT} ahead of the console's clock`,
  behind: `timestamp is more than ${LIMIT} behind the console's clock`,
}

export function clockNoteReason(note: ClockNote): string {
  return CLOCK_NOTE_REASONS[note]
}
