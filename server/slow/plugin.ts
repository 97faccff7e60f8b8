/**
 * The slow area: its collector part (the agents' slow-request and slow-job streams) and its pages.
 */
import fp from 'fastify-plugin'
import { createSlowCollector } from './collector-part.js'
import { slowEntriesOfNode } from './node-entries.js'
import slowRoutes from './routes.js'

export default fp(
  async (app) => {
    app.collector.addPart(createSlowCollector(app.redis, app.keys, app.badData))
    // the node page lists the node's latest slow entries, from the snapshot it is drawn from
    app.nodeCardDecorators.add('slow', (snapshot) => (service, nodeId) => slowEntriesOfNode(snapshot, service, nodeId))
    await app.register(slowRoutes)
  },
  { name: 'zenith-slow', dependencies: ['zenith-collector', 'zenith-redis', 'zenith-nodes'] },
)
