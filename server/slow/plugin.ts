/**
 * The slow area: its collector part (the agents' slow-request and slow-job streams) and its pages.
 */
import fp from 'fastify-plugin'
import { createSlowCollector } from './collector-part.js'
import slowRoutes from './routes.js'

export default fp(
  async (app) => {
    app.collector.addPart(createSlowCollector(app.redis, app.keys, app.badData))
    await app.register(slowRoutes)
  },
  { name: 'zenith-slow', dependencies: ['zenith-collector', 'zenith-redis'] },
)
