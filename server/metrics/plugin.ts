/**
 * The metrics area: `GET /metrics` for Prometheus, built from the collector's snapshots like every
 * page. Adds no collector part; it listens to the snapshots for the counters only a sequence of
 * ticks can give (./collector-stats.ts). Who may scrape is the auth guard's rule for token routes
 * (server/auth/token-routes.ts).
 */
import fp from 'fastify-plugin'
import { Registry } from 'prom-client'
import type { Clock } from '../clock.js'
import type { Snapshot } from '../collector/snapshot.js'
import { APP_VERSION } from '../version.js'
import { createCollectorStats } from './collector-stats.js'
import { processRegistry } from './process-registry.js'
import { createMetricsRegistry } from './registry.js'
import { buildMetricsView, type MetricsView } from './service.js'
import metricsRoutes from './routes.js'

export interface MetricsPluginOptions {
  clock: Clock
}

export default fp<MetricsPluginOptions>(
  async (app, options) => {
    const own = createMetricsRegistry({ snapshot: () => app.collector.snapshot, view: latestView(() => app.collector.snapshot), now: options.clock }, { version: APP_VERSION })
    const stats = createCollectorStats(own)
    app.collector.onSnapshot((snapshot, previous) => stats.onSnapshot(snapshot, previous))
    await app.register(metricsRoutes, { registry: Registry.merge([own, processRegistry()]) })
  },
  { name: 'zenith-metrics', dependencies: ['zenith-collector', 'zenith-auth'] },
)

/** the samples of the latest snapshot, built on the first scrape after each tick and shared by the rest */
function latestView(snapshot: () => Snapshot): () => MetricsView {
  let built: { of: Snapshot; view: MetricsView } | null = null
  return () => {
    const latest = snapshot()
    if (built?.of !== latest) built = { of: latest, view: buildMetricsView(latest) }
    return built.view
  }
}
