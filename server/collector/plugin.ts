/**
 * Builds the collector engine from the Redis plugin's connection and runs it while the app is up.
 * It reads nothing itself: each area's plugin adds its part while the app registers.
 * With `autoStart: false` (tests) nothing runs until `app.collector.refresh()` is called.
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import { Collector } from './collector.js'
import { createBadDataLog, type BadDataCounter } from './bad-data-log.js'
import { duplicateConnection, waitUntilReady } from '../redis/connection.js'
import { isCluster } from '../redis/client.js'
import { probeCluster } from '../redis/cluster-health.js'

declare module 'fastify' {
  interface FastifyInstance {
    collector: Collector
    /** one log of bad agent data for every part, so its rate limit holds for the whole console; its problem record feeds /problems */
    badData: BadDataCounter
  }
}

/**
 * How long a shutdown waits for the collector tick in flight. The whole shutdown has 10 s
 * (server.ts): up to 3 s for alert writes, then this, then 0.5 s per Redis connection to quit.
 * A healthy tick takes milliseconds; one stuck on a slow Redis would take the part timeout (10 s).
 */
export const STOP_WAIT_MS = 2_000

export interface CollectorPluginOptions {
  clock: Clock
  tickMs: number
  autoStart: boolean
  partTimeoutMs: number
}

export default fp<CollectorPluginOptions>(
  async (app, options) => {
    const badData = createBadDataLog(app.log, options.clock)
    app.decorate('badData', badData)
    // the probe has a connection of its own: behind a part's slow pipeline on the shared one, a
    // PING would wait for that part and report a busy read as an outage
    const probeConnection = duplicateConnection(app.redis, 'zenith-console-probe')
    probeConnection.on('error', () => {})
    // as for the main connection: give the first connect a moment, or the first tick reads as an outage
    if (app.redis.status === 'ready') await waitUntilReady(probeConnection, 3000)
    const collector = new Collector({
      clock: options.clock,
      log: app.log,
      tickMs: options.tickMs,
      // the parts' connection must be up too: Redis answering a PING while the parts' connection
      // is still reconnecting (its backoff runs apart from the probe's) is no data read either
      probe: async () => {
        if (app.redis.status !== 'ready') throw new Error(`the console's connection is ${app.redis.status}`)
        if (!isCluster(probeConnection)) return probeConnection.ping()
        // a Cluster is out of reach only when no master answers; masters that do not serve their
        // slots are named in the snapshot instead
        const probed = await probeCluster(probeConnection)
        if (!probed.reachable) throw new Error('no master of the Redis Cluster answers')
        return probed
      },
      partTimeoutMs: options.partTimeoutMs,
    })
    app.decorate('collector', collector)
    // later plugins add their parts during registration; the loop starts once all are in
    if (options.autoStart) app.addHook('onReady', async () => collector.start())
    app.addHook('onClose', async () => {
      const finished = await collector.stop(STOP_WAIT_MS)
      if (!finished) {
        app.log.warn({ event: 'shutdown_tick_abandoned', waitedMs: STOP_WAIT_MS }, 'a collector tick was still reading Redis at shutdown; not waiting for it')
      }
      probeConnection.disconnect()
    })
  },
  { name: 'zenith-collector', dependencies: ['zenith-redis'] },
)
