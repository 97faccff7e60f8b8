/**
 * Builds the collector from the Redis plugin's connection and runs it while the app is up.
 * With `autoStart: false` (tests) nothing runs until `app.collector.refresh()` is called.
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import { Collector } from '../collector/collector.js'
import { createBadDataLog } from '../collector/bad-data-log.js'
import { createRedisNodeCollector } from '../collector/node-collector.js'

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
  sliceMs: number
}

export default fp<CollectorPluginOptions>(
  async (app, options) => {
    const nodes = createRedisNodeCollector(app.redis, app.keys, { graceMs: options.graceMs, badData: createBadDataLog(app.log, options.clock), sliceMs: options.sliceMs })
    const collector = new Collector({ clock: options.clock, log: app.log, tickMs: options.tickMs })
    collector.addPart(nodes)
    app.decorate('collector', collector)
    // later plugins add their parts during registration; the loop starts once all are in
    if (options.autoStart) app.addHook('onReady', async () => collector.start())
    app.addHook('onClose', async () => collector.stop())
  },
  { name: 'zenith-collector', dependencies: ['zenith-redis'] },
)
