/**
 * The problems area: what the bad-data log kept about agent data the console could not use. It adds
 * no collector part: every part reports into the engine's bad-data log, which this area shows.
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import problemsRoutes from './routes.js'

export interface ProblemsPluginOptions {
  clock: Clock
}

export default fp<ProblemsPluginOptions>(
  async (app, options) => {
    await app.register(problemsRoutes, { clock: options.clock })
  },
  { name: 'zenith-problems', dependencies: ['zenith-collector'] },
)
