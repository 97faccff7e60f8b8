/**
 * The console monitors itself with the SDK, as service `zenith`, so a fresh start shows one live
 * node and proves the whole path from agent to page works. The SDK is loaded only when this runs,
 * so a console started without self-monitoring carries none of its timers.
 */
import fp from 'fastify-plugin'
import type { QuasarAgent } from '@gravito/quasar'

export interface SelfMonitorOptions {
  redisUrl: string
  /** `redisUrl` is one seed node of a Redis Cluster (`--cluster`): the agent opens a Cluster too */
  cluster: boolean
  prefix: string
  appVersion: string
}

export default fp<SelfMonitorOptions>(
  async (app, options) => {
    let agent: QuasarAgent | null = null
    app.addHook('onReady', async () => {
      const { startPulse } = await import('@gravito/quasar')
      agent = startPulse({
        service: 'zenith',
        url: options.redisUrl,
        cluster: options.cluster,
        prefix: options.prefix,
        appVersion: options.appVersion,
        onError: (error: unknown) => app.log.debug({ err: error }, 'self-monitor beat failed'),
      })
    })
    app.addHook('onClose', async () => {
      // its last beat may be waiting on a Redis that stopped answering: the shutdown has 10 s in all
      await Promise.race([agent?.stop(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
    })
  },
  { name: 'zenith-self-monitor' },
)
