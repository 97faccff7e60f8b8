/**
 * The nodes area: the collector part that reads heartbeats, `/pulse` with its fragment and JSON,
 * and the node page. Other areas add to the node cards through `app.nodeCardDecorators`.
 */
import fp from 'fastify-plugin'
import { createRedisNodeCollector } from './collector-part.js'
import { createNodeCardDecorators } from './decorators.js'
import nodesRoutes from './routes.js'
import nodePageRoutes from './page-routes.js'

export interface NodesPluginOptions {
  /** how long a node whose key is gone stays listed as dead */
  graceMs: number
  /** the parse loop hands the event loop back after this long (see runtime/slices.ts) */
  sliceMs: number
}

export default fp<NodesPluginOptions>(
  async (app, options) => {
    // declared before any route renders a card; areas registered later add to it
    app.decorate('nodeCardDecorators', createNodeCardDecorators())
    app.collector.addPart(createRedisNodeCollector(app.redis, app.keys, { graceMs: options.graceMs, badData: app.badData, sliceMs: options.sliceMs }))
    await app.register(nodesRoutes)
    await app.register(nodePageRoutes)
  },
  { name: 'zenith-nodes', dependencies: ['zenith-collector', 'zenith-redis'] },
)
