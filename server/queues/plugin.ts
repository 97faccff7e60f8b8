/**
 * The queues feature: its collector part (agents' snapshots, heartbeats, and queues discovered in
 * the console's Redis) and its pages and API. Other areas add to the job rows through
 * `app.queueRowDecorators`, and flag whole queues (alerts firing) through `app.queueFlagDecorators`.
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import { createQueuesCollector } from './collector-part.js'
import { createQueueRowDecorators } from './decorators.js'
import { createQueueFlagDecorators } from './flags.js'
import { queueRows } from './history-rows.js'
import { queuesOfNode } from './node-queues.js'
import queuesRoutes from './routes.js'
import { createLiveJobReader } from './live-reader.js'

export interface QueuesPluginOptions {
  clock: Clock
}

export default fp<QueuesPluginOptions>(
  async (app, options) => {
    app.collector.addPart(createQueuesCollector(app.redis, app.keys, app.badData))
    app.history.addRows(queueRows)
    // declared before the routes render a row; areas registered later add to it
    app.decorate('queueRowDecorators', createQueueRowDecorators())
    app.decorate('queueFlagDecorators', createQueueFlagDecorators())
    // read on demand, not by the collector: a queue's jobs page by page, one job in full
    app.decorate('liveJobs', createLiveJobReader(app.redis, options.clock))
    // the node page lists the node's queues, from the snapshot it is drawn from
    app.nodeCardDecorators.add('queues', (snapshot) => {
      const flags = app.queueFlagDecorators.bind(snapshot)
      return (service, nodeId) => queuesOfNode(snapshot, service, nodeId, flags)
    })
    await app.register(queuesRoutes)
  },
  { name: 'zenith-queues', dependencies: ['zenith-collector', 'zenith-redis', 'zenith-history', 'zenith-nodes'] },
)
