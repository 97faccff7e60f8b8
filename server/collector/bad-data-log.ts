/**
 * Logs bad agent data at most once per key per interval: a broken agent rewriting its key every
 * 10 s must not flood the console's log. The memory of logged keys is bounded.
 */
import type { FastifyBaseLogger } from 'fastify'

export interface BadDataLog {
  report(key: string, reason: string): void
}

export function createBadDataLog(
  log: Pick<FastifyBaseLogger, 'warn'>,
  clock: () => number,
  intervalMs = 10 * 60_000,
  maxKeys = 10_000,
): BadDataLog {
  const lastLogged = new Map<string, number>()
  return {
    report(key, reason) {
      const now = clock()
      const last = lastLogged.get(key)
      if (last !== undefined && now - last < intervalMs) return
      lastLogged.delete(key)
      if (lastLogged.size >= maxKeys) {
        const oldest = lastLogged.keys().next().value
        if (oldest !== undefined) lastLogged.delete(oldest)
      }
      lastLogged.set(key, now)
      // JSON.stringify keeps control characters and markup in the key from forging log lines
      log.warn({ key: JSON.stringify(key).slice(0, 300), reason }, 'skipped bad agent data')
    },
  }
}
