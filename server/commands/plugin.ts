/**
 * The commands feature (placeholder until it is built).
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import type { ZenithConfig } from '../config.js'

export interface CommandsPluginOptions {
  clock: Clock
  config: ZenithConfig
}

export default fp<CommandsPluginOptions>(async () => {}, { name: 'zenith-commands', dependencies: ['zenith-queues', 'zenith-redis'] })
