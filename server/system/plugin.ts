/**
 * The system area: the probes a supervisor asks (`/livez`, `/readyz`) and, when configured, the
 * console monitoring itself as service `zenith`.
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import selfMonitor, { type SelfMonitorOptions } from './self-monitor.js'
import systemRoutes from './routes.js'

export interface SystemPluginOptions {
  clock: Clock
  /** null: the console does not monitor itself */
  selfMonitor: SelfMonitorOptions | null
}

export default fp<SystemPluginOptions>(
  async (app, options) => {
    if (options.selfMonitor) await app.register(selfMonitor, options.selfMonitor)
    await app.register(systemRoutes, { clock: options.clock })
  },
  { name: 'zenith-system', dependencies: ['zenith-collector', 'zenith-redis'] },
)
