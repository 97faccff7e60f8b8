/**
 * The whole console as one Fastify plugin, registered in order: infrastructure, data access, the
 * collector, then features. server.ts boots it; tests build it with `inject` and no listener.
 */
import type { FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import securityHeaders from './security/headers.js'
import loadShedding from './security/load-shedding.js'
import passwordPolicy from './security/password-policy.js'
import cacheControl from './http/cache-control.js'
import hostOrigin from './security/host-origin.js'
import rateLimits from './http/rate-limits.js'
import type { Clock } from './clock.js'
import type { ZenithConfig } from './config.js'
import views from './plugins/views.js'
import requestValidation from './web/validate.js'
import auth from './auth/plugin.js'
import redis from './plugins/redis.js'
import collector from './plugins/collector.js'
import history from './history/plugin.js'
import historyRoutes from './history/routes.js'
import selfMonitor from './plugins/self-monitor.js'
import systemRoutes from './system/routes.js'
import nodesRoutes from './nodes/routes.js'
import alerts from './alerts/plugin.js'
import slow from './slow/routes.js'
import problems from './problems/routes.js'
import queues from './queues/plugin.js'
import commands from './commands/plugin.js'
import { APP_VERSION } from './version.js'

export interface AppOptions {
  config: ZenithConfig & { redisUrl: string }
  clock: Clock
  /** false in tests, which call `app.collector.refresh()` themselves */
  autoStart: boolean
}

export default async function zenith(app: FastifyInstance, options: AppOptions) {
  const { config, clock } = options

  // infrastructure
  await app.register(securityHeaders)
  await app.register(cacheControl)
  // before load shedding and auth: a foreign Host or Origin is refused before any other check
  await app.register(hostOrigin, { publicUrl: config.publicUrl, listenHost: config.host, clock })
  await app.register(loadShedding, { maxEventLoopDelayMs: config.shedEventLoopDelayMs, sampleIntervalMs: config.shedSampleIntervalMs })
  await app.register(formbody)
  await app.register(views)
  await app.register(requestValidation)
  // a weak shared password stops the boot before anything connects
  await app.register(passwordPolicy, { config })

  // data access, then access control (sessions are kept in Redis), then collection
  await app.register(redis, { url: config.redisUrl, prefix: config.prefix })
  await app.register(auth, { config, clock })
  await app.register(rateLimits, { apiPerMinute: config.apiRateLimit, writesPerMinute: config.commandRateLimit })
  await app.register(collector, { clock, tickMs: config.tickMs, graceMs: config.graceMs, autoStart: options.autoStart, sliceMs: config.loopSliceMs, partTimeoutMs: config.partTimeoutMs })
  await app.register(history, { clock, sliceMs: config.loopSliceMs })
  if (config.selfMonitor) {
    await app.register(selfMonitor, { redisUrl: config.redisUrl, prefix: config.prefix, appVersion: APP_VERSION })
  }

  // features
  await app.register(systemRoutes, { clock })
  await app.register(nodesRoutes)
  await app.register(queues, { clock })
  await app.register(commands, { clock, config })
  await app.register(historyRoutes)
  await app.register(alerts, { clock, file: config.alertsFile, drainMs: config.alertsDrainMs })
  await app.register(slow, { clock })
  await app.register(problems, { clock })
}
