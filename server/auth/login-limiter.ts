/**
 * Counts failed logins per client address in a fixed window. In process memory on purpose: a login
 * must not depend on Redis being up, and a replica keeps its own count (an attacker spread over N
 * replicas gets N times the attempts, still a handful per window).
 * Bounded: past `maxEntries` addresses, expired windows are swept, then the oldest are dropped.
 */
import type { Clock } from '../clock.js'

export interface LoginLimiterOptions {
  clock: Clock
  maxFailures?: number
  windowMs?: number
  maxEntries?: number
}

export interface LoginLimiter {
  /** ms until `key` may try again, or 0 when it may try now */
  retryAfterMs(key: string): number
  fail(key: string): void
  reset(key: string): void
}

export function createLoginLimiter(options: LoginLimiterOptions): LoginLimiter {
  const { clock, maxFailures = 5, windowMs = 15 * 60_000, maxEntries = 10_000 } = options
  const windows = new Map<string, { failures: number; resetAt: number }>()

  function current(key: string) {
    const entry = windows.get(key)
    if (entry && entry.resetAt <= clock()) {
      windows.delete(key)
      return undefined
    }
    return entry
  }

  function makeRoom() {
    if (windows.size < maxEntries) return
    const now = clock()
    for (const [key, entry] of windows) if (entry.resetAt <= now) windows.delete(key)
    // Map iterates in insertion order: the first keys are the oldest windows
    for (const key of windows.keys()) {
      if (windows.size < maxEntries) break
      windows.delete(key)
    }
  }

  return {
    retryAfterMs(key) {
      const entry = current(key)
      return entry && entry.failures >= maxFailures ? entry.resetAt - clock() : 0
    },
    fail(key) {
      const entry = current(key)
      if (entry) {
        entry.failures += 1
        return
      }
      makeRoom()
      windows.set(key, { failures: 1, resetAt: clock() + windowMs })
    },
    reset(key) {
      windows.delete(key)
    },
  }
}
