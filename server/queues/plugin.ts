/**
 * The queues feature (placeholder until it is built).
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'

export interface QueuesPluginOptions {
  clock: Clock
}

export default fp<QueuesPluginOptions>(async () => {}, { name: 'zenith-queues', dependencies: ['zenith-collector', 'zenith-redis'] })
