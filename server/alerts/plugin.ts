/**
 * The alerts feature: loads the rules (a bad file fails the boot), adds the alerts part to the
 * collector, evaluates every snapshot, and serves the pages. Decorates `app.alerts`, and adds the
 * firing alerts to the node cards and to the queues they fire for.
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import { alertsOf, createAlertsCollector } from './collector-part.js'
import type { DeliverOptions } from './channels/deliver.js'
import { createDispatcher } from './dispatcher.js'
import { createAlertEngine } from './engine.js'
import { defaultAlertRules, loadAlertRules, type AlertRules } from './rules.js'
import { createAlertRuntime } from './runtime.js'
import { firingForNode, firingForQueue, type FiringView } from './service.js'
import { createAlertStore } from './store.js'
import alertsRoutes from './routes.js'

export interface AlertsService {
  readonly config: AlertRules
  /** alerts firing for one node in the latest snapshot (cpu, memory, disk, node lost) */
  firingForNode(service: string, nodeId: string): readonly FiringView[]
  /** resolves once alert writes and deliveries in progress are done (tests) */
  idle(): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertsService
  }
}

export interface AlertsPluginOptions {
  clock: Clock
  /** the rules file; absent: the default rules */
  file?: string | undefined
  /** delivery tuning (timeout, backoff, sleep), for tests */
  delivery?: Omit<DeliverOptions, 'signal'>
  /** how long a shutdown waits for alert writes in progress */
  drainMs: number
}

export default fp<AlertsPluginOptions>(
  async (app, options) => {
    const config = options.file !== undefined ? await loadAlertRules(options.file) : defaultAlertRules()
    app.collector.addPart(createAlertsCollector(app.redis, app.keys, app.badData))

    const store = createAlertStore(app.redis, app.keys)
    // the runtime reports delivery outcomes; the dispatcher is built first, so forward to it
    let report: Parameters<typeof createDispatcher>[0]['onResult'] = () => {}
    const dispatcher = createDispatcher({ ...options.delivery, onResult: (delivery, outcome) => report(delivery, outcome) })
    const runtime = createAlertRuntime({ config, engine: createAlertEngine(config.rules), store, dispatcher, clock: options.clock, log: app.log })
    report = runtime.onDelivery
    // not awaited by the collector beyond the in-memory evaluation: see runtime.onSnapshot
    app.collector.onSnapshot((snapshot) => runtime.onSnapshot(snapshot))

    app.decorate('alerts', {
      config,
      firingForNode: (service: string, nodeId: string) => firingForNode(app.collector.snapshot, service, nodeId),
      idle: () => runtime.idle(),
    } satisfies AlertsService)
    // the node cards show what fires for their node, judged on the snapshot they are drawn from
    app.nodeCardDecorators.add('firing', (snapshot) => (service, nodeId) => firingForNode(snapshot, service, nodeId))
    // the navigation counts what fires, on every page
    app.navCounts.add('Alerts', () => alertsOf(app.collector.snapshot).firing.length)
    // and the queues table and page flag the queues an alert fires for
    app.queueFlagDecorators.add((snapshot) => (service, queue) => firingForQueue(snapshot, service, queue))

    // before Redis closes (onClose): abort deliveries, let the writes in progress finish, bounded
    // so that a backlog cannot hold the shutdown past its deadline
    app.addHook('preClose', async () => runtime.close(options.drainMs))

    app.log.info({ rules: config.rules.length, channels: config.channels.length, file: config.file }, 'alert rules loaded')
    await app.register(alertsRoutes, { config })
  },
  { name: 'zenith-alerts', dependencies: ['zenith-collector', 'zenith-redis', 'zenith-nodes', 'zenith-queues'] },
)
