/**
 * Builds the collector from the Redis plugin's connection and runs it while the app is up.
 * With `autoStart: false` (tests) nothing runs until `app.collector.refresh()` is called.
 */
import fp from 'fastify-plugin'
import { MAX_VALUE_BYTES } from '@gravito/quasar/protocol'
import type { Clock } from '../clock.js'
import { Collector } from '../collector/collector.js'
import { createBadDataLog } from '../collector/bad-data-log.js'
import { createNodeCollector } from '../collector/node-collector.js'
import { createKeyFinder } from '../redis/key-finder.js'
import { createNodeReader } from '../redis/node-reader.js'
import { DEAD_AFTER_MS } from '../nodes/health.js'

declare module 'fastify' {
  interface FastifyInstance {
    collector: Collector
  }
}

export interface CollectorPluginOptions {
  clock: Clock
  tickMs: number
  graceMs: number
  autoStart: boolean
}

export default fp<CollectorPluginOptions>(
  async (app, options) => {
    const nodes = createNodeCollector({
      keys: app.keys,
      finder: createKeyFinder(app.redis, app.keys, { indexWindowMs: DEAD_AFTER_MS + options.graceMs }),
      readValues: createNodeReader(app.redis, MAX_VALUE_BYTES),
      badData: createBadDataLog(app.log, options.clock),
      maxValueBytes: MAX_VALUE_BYTES,
      graceMs: options.graceMs,
    })
    const collector = new Collector({ clock: options.clock, log: app.log, tickMs: options.tickMs })
    collector.addPart(nodes)
    app.decorate('collector', collector)
    // later plugins add their parts during registration; the loop starts once all are in
    if (options.autoStart) app.addHook('onReady', async () => collector.start())
    app.addHook('onClose', async () => collector.stop())
  },
  { name: 'zenith-collector', dependencies: ['zenith-redis'] },
)
