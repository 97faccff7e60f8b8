/**
 * The console's metrics, in a prom-client registry of its own (never the global one: two apps in
 * one process, as in tests and benches, would share it). Every value about the fleet, queues,
 * alerts and collector parts is set at collect time, from the latest snapshot, so a scrape shows
 * the latest tick and sends no Redis command; metrics of a label set that left the snapshot go
 * with it. Counters that only a sequence of ticks can give live in ./collector-stats.ts.
 */
import { Counter, Gauge, Registry } from 'prom-client'
import type { Snapshot } from '../collector/snapshot.js'
import type { MetricsView, Sample } from './service.js'

export interface MetricsSource {
  /** the latest snapshot */
  snapshot(): Snapshot
  /** the latest snapshot's samples (built once per snapshot) */
  view(): MetricsView
  /** the console's clock (epoch ms), for ages */
  now(): number
}

export function createMetricsRegistry(source: MetricsSource, info: { version: string }): Registry {
  const registry = new Registry()
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], samples: () => readonly Sample<L>[]) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        // a fresh set each scrape: a queue or service gone from the snapshot leaves no series behind
        this.reset()
        for (const sample of samples()) this.set(sample.labels as Partial<Record<L, string>>, sample.value)
      },
    })
  const value = (name: string, help: string, read: () => number) => gauge(name, help, [], () => [{ labels: {}, value: read() }])

  gauge('zenith_build_info', 'The console version; always 1.', ['version'], () => [{ labels: { version: info.version }, value: 1 }])
  value('zenith_redis_up', "1 when Redis answered the collector's last probe, 0 while it does not.", () => (source.snapshot().redis.up ? 1 : 0))
  value('zenith_snapshot_age_seconds', 'Time since the latest collector tick started; +Inf before the first.', () => {
    const snapshot = source.snapshot()
    return snapshot.version === 0 ? Number.POSITIVE_INFINITY : Math.max(0, source.now() - snapshot.generatedAt) / 1000
  })

  gauge('zenith_nodes', 'Nodes by service and health (fresh, stale, dead), as the pulse page counts them.', ['service', 'health'], () => source.view().nodes)
  gauge('zenith_queue_jobs', 'Jobs in a queue by state; a state its driver cannot count is left out, never 0.', ['service', 'queue', 'state'], () => source.view().queueJobs)
  gauge('zenith_queue_up', 'A queue whose counts were read (1), or whose reader reported an error instead (0).', ['service', 'queue'], () => source.view().queueUp)
  gauge('zenith_queue_oldest_wait_seconds', 'Age of the oldest waiting job when the counts were read.', ['service', 'queue'], () => source.view().queueOldestWaitSeconds)
  gauge('zenith_queue_throughput_per_second', 'Jobs finished (completed or failed) per second between the last two readings.', ['service', 'queue'], () => source.view().queueThroughput)
  gauge('zenith_queue_paused', '1 while the queue is paused.', ['service', 'queue'], () => source.view().queuePaused)
  new Counter({
    name: 'zenith_queue_processed_total',
    help: 'Jobs the queue has finished since its counters began (BullMQ metrics); resets when the queue does.',
    labelNames: ['service', 'queue'],
    registers: [registry],
    collect() {
      this.reset()
      for (const sample of source.view().queueProcessed) if (Number.isFinite(sample.value) && sample.value >= 0) this.inc(sample.labels, sample.value)
    },
  })
  gauge('zenith_alerts_firing', 'Firing alert episodes by rule, metric and service.', ['rule', 'metric', 'service'], () => source.view().alertsFiring)
  gauge('zenith_metrics_folded', 'Services or queues past the label bound, counted under the label value "(other)".', ['kind'], () => source.view().folded)

  const parts = (read: (part: Snapshot['parts'][string], snapshot: Snapshot) => number) => () => {
    const snapshot = source.snapshot()
    return Object.entries(snapshot.parts).map(([part, status]) => ({ labels: { part }, value: read(status, snapshot) }))
  }
  gauge(
    'zenith_collector_part_up',
    "1 when the part's last attempt read its data, 0 when it failed or did not answer in time (its last data is kept).",
    ['part'],
    parts((status) => (status.ok ? 1 : 0)),
  )
  gauge(
    'zenith_collector_part_consecutive_failures',
    'Attempts in a row that did not replace the part data; 0 once one does.',
    ['part'],
    parts((status) => status.failures),
  )
  gauge(
    'zenith_collector_part_data_age_seconds',
    'Age of the data the part shows, at the latest tick; +Inf before its first good read.',
    ['part'],
    parts((status, snapshot) => (status.readAt === null ? Number.POSITIVE_INFINITY : Math.max(0, snapshot.generatedAt - status.readAt) / 1000)),
  )
  return registry
}
