/**
 * Node health is a pure function of when the node last beat and whether its key still exists.
 * Thresholds follow the protocol: a beat every 10–15 s under a 30 s expiry.
 */
export const FRESH_FOR_MS = 15_000
export const DEAD_AFTER_MS = 30_000

export type Health = 'fresh' | 'stale' | 'dead'

export function healthOf(lastSeenAt: number, keyPresent: boolean, now: number): Health {
  if (!keyPresent) return 'dead'
  // an agent clock slightly ahead of ours gives a negative age: that beat is as fresh as it gets
  const age = Math.max(0, now - lastSeenAt)
  if (age > DEAD_AFTER_MS) return 'dead'
  return age > FRESH_FOR_MS ? 'stale' : 'fresh'
}
