/**
 * What only the sequence of ticks can tell, counted as each snapshot is published: ticks, how long
 * their reads took, and each part's failed attempts since the console started. A snapshot holds a
 * part's failures in a row, which go back to 0 on its next good read; Prometheus wants a counter
 * that only grows, so the failures are added up here, tick by tick.
 */
import { Counter, Histogram, type Registry } from 'prom-client'
import type { PartStatus, Snapshot } from '../collector/snapshot.js'

/** seconds: a healthy tick takes milliseconds; a part cut off at its timeout takes 10 s */
const TICK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export function createCollectorStats(registry: Registry) {
  const ticks = new Counter({ name: 'zenith_collector_ticks_total', help: 'Collector ticks since the console started.', registers: [registry] })
  const duration = new Histogram({
    name: 'zenith_collector_tick_duration_seconds',
    help: 'How long each tick took to read every part and probe Redis.',
    buckets: TICK_BUCKETS,
    registers: [registry],
  })
  const failures = new Counter({
    name: 'zenith_collector_part_failures_total',
    help: 'Attempts of a collector part that failed or did not answer in time, since the console started.',
    labelNames: ['part'],
    registers: [registry],
  })

  return {
    onSnapshot(snapshot: Snapshot, previous: Snapshot): void {
      ticks.inc()
      duration.observe(snapshot.readMs / 1000)
      for (const [part, status] of Object.entries(snapshot.parts)) failures.inc({ part }, newFailures(status, previous.parts[part]))
    },
  }
}

/**
 * Failed attempts between two statuses of one part: each failed tick adds one to `failures`, a
 * good read sets it to 0, and a tick while Redis is unreachable leaves the status as it was (that
 * failure is the outage's, told by zenith_redis_up).
 */
export function newFailures(status: PartStatus, before: PartStatus | undefined): number {
  const was = before?.failures ?? 0
  return status.failures >= was ? status.failures - was : status.failures
}
