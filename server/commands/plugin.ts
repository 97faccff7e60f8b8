/**
 * The commands feature: signed commands to the agents that own a queue, their results, and the
 * audit log. Adds the commands part to the collector, and decorates the queue page's job rows: whether
 * this viewer may send commands (`canSendCommands`: an operator, on a console that has QUASAR_TOKEN
 * to sign with), so the partials can hide the buttons otherwise, and the last command of each job
 * (`lastCommand`), and the latest queue-wide command of the queue (`lastQueueCommand`).
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import type { ZenithConfig } from '../config.js'
import { createCommandsCollector } from './collector-part.js'
import { createCommandSender } from './sender.js'
import { createCommandStore } from './store.js'
import { createAgentJobLister } from './job-lister.js'
import { commandForJob, commandForQueue } from './service.js'
import { commandViewHelpers } from './view-helpers.js'
import commandApiRoutes from './routes.js'
import commandFormRoutes from './form-routes.js'
import auditRoutes from './audit-routes.js'
import queueActionRoutes from './queue-action-routes.js'

export interface CommandsPluginOptions {
  clock: Clock
  config: ZenithConfig
}

export default fp<CommandsPluginOptions>(
  async (app, options) => {
    const store = createCommandStore(app.redis, app.keys)
    app.collector.addPart(createCommandsCollector(store, app.badData))
    const sender = createCommandSender({ store, clock: options.clock, token: options.config.quasarToken, snapshot: () => app.collector.snapshot })

    // the queue page's job rows: buttons for operators of a console that can sign, and the last
    // command of each job so a row keeps showing it across polls and reloads
    app.queueRowDecorators.add((snapshot, viewer) => ({
      canSendCommands: sender.enabled && viewer.user?.role === 'operator',
      lastCommand: (service: string, queue: string, jobId: string, failedAt?: number) => commandForJob(snapshot, service, queue, jobId, failedAt),
      lastQueueCommand: (service: string, queue: string) => commandForQueue(snapshot, service, queue),
      commandHelpers: commandViewHelpers,
    }))

    // an agent's queue is listed by asking its node (LIST_JOBS), signed with the commands' token
    app.liveJobs.setAgentLister(createAgentJobLister({ store, clock: options.clock, token: options.config.quasarToken }))

    if (!sender.enabled) app.log.info({ event: 'commands_disabled' }, 'commands are off: no QUASAR_TOKEN to sign them with')

    await app.register(commandApiRoutes, { sender })
    await app.register(commandFormRoutes, { sender })
    await app.register(queueActionRoutes, { sender })
    await app.register(auditRoutes)
  },
  { name: 'zenith-commands', dependencies: ['zenith-queues', 'zenith-redis', 'zenith-collector', 'zenith-auth'] },
)
