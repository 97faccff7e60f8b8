/**
 * The whole console as one Fastify plugin, registered in order: infrastructure, data access, the
 * collector engine, then one line per area. server.ts boots it; tests build it with `inject` and no listener.
 */
import type { FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import securityHeaders from './security/headers.js'
import loadShedding from './security/load-shedding.js'
import passwordPolicy from './security/password-policy.js'
import cacheControl from './http/cache-control.js'
import hostOrigin from './security/host-origin.js'
import rateLimits from './http/rate-limits.js'
import nameParams from './http/name-params.js'
import type { Clock } from './clock.js'
import type { ZenithConfig } from './config.js'
import views from './web/views-plugin.js'
import requestValidation from './web/validate.js'
import auth from './auth/plugin.js'
import { SESSION_COOKIE } from './auth/session.js'
import { TOKEN_ROUTES, tokenRequired } from './auth/token-routes.js'
import redis from './redis/plugin.js'
import collector from './collector/plugin.js'
import nodes from './nodes/plugin.js'
import history from './history/plugin.js'
import system from './system/plugin.js'
import queues from './queues/plugin.js'
import commands from './commands/plugin.js'
import alerts from './alerts/plugin.js'
import slow from './slow/plugin.js'
import problems from './problems/plugin.js'
import archive, { type ArchiveTuning } from './archive/plugin.js'
import { resolveArchiveTarget } from './archive/settings.js'
import jobs from './jobs/plugin.js'
import metrics from './metrics/plugin.js'
import { APP_VERSION } from './version.js'

export interface AppOptions {
  config: ZenithConfig & { redisUrl: string }
  clock: Clock
  /** false in tests, which call `app.collector.refresh()` themselves */
  autoStart: boolean
  /** batch sizes and the like for the archiver, for tests and benches */
  archiveTuning?: ArchiveTuning
}

export default async function zenith(app: FastifyInstance, options: AppOptions) {
  const { config, clock } = options

  // infrastructure
  await app.register(securityHeaders)
  await app.register(cacheControl)
  // before load shedding and auth: a foreign Host or Origin is refused before any other check
  await app.register(hostOrigin, { publicUrl: config.publicUrl, listenHost: config.host, clock, tokenGuardedRoutes: tokenRequired(config) ? TOKEN_ROUTES : new Set<string>() })
  await app.register(loadShedding, { maxEventLoopDelayMs: config.shedEventLoopDelayMs, sampleIntervalMs: config.shedSampleIntervalMs })
  await app.register(formbody)
  await app.register(nameParams)
  await app.register(views)
  await app.register(requestValidation)
  // a weak shared password stops the boot before anything connects
  await app.register(passwordPolicy, { config })

  // data access, then access control (sessions are kept in Redis), then the collector engine
  await app.register(redis, { url: config.redisUrl, cluster: config.redisCluster, prefix: config.prefix })
  await app.register(auth, { config, clock })
  await app.register(rateLimits, { apiPerMinute: config.apiRateLimit, writesPerMinute: config.commandRateLimit, sessionCookie: SESSION_COOKIE })
  await app.register(collector, { clock, tickMs: config.tickMs, autoStart: options.autoStart, partTimeoutMs: config.partTimeoutMs })
  // the job archive: its own loop beside the collector's, read by the areas below
  await app.register(archive, { target: resolveArchiveTarget(config.archive, config.dataDir), retention: config.retention, clock, autoStart: options.autoStart, tuning: options.archiveTuning })

  // areas: each adds its collector part, if any, and its routes
  await app.register(nodes, { graceMs: config.graceMs, sliceMs: config.loopSliceMs })
  await app.register(history, { clock, sliceMs: config.loopSliceMs, tickMs: config.tickMs })
  await app.register(system, { clock, selfMonitor: config.selfMonitor ? { redisUrl: config.redisUrl, cluster: config.redisCluster, prefix: config.prefix, appVersion: APP_VERSION } : null })
  await app.register(queues, { clock })
  await app.register(commands, { clock, config })
  await app.register(alerts, { clock, file: config.alertsFile, drainMs: config.alertsDrainMs })
  await app.register(slow)
  await app.register(problems, { clock })
  await app.register(jobs, { clock })
  // last: what it exports comes from every area's part of the snapshot
  await app.register(metrics, { clock })
}
