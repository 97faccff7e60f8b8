/**
 * Builds the same app the server runs, without listening, against a real Redis. Tests drive the
 * collector with `app.collector.refresh()` and a fake clock instead of waiting for ticks.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import zenith from '../../server/app.js'
import { parseConfig, type ZenithConfigInput } from '../../server/config.js'
import type { Clock } from '../../server/clock.js'
import { MAX_PARAM_LENGTH } from '../../server/http/urls.js'
import { fastifyTrustProxy } from '../../server/http/trust-proxy.js'
import type { ArchiveTuning } from '../../server/archive/plugin.js'

export interface TestAppOptions extends Omit<ZenithConfigInput, 'redisUrl'> {
  redisUrl: string
  clock?: Clock
  autoStart?: boolean
  /** receives the app's pino lines (JSON), for tests that assert on logs */
  logLines?: string[]
  /** routes registered inside the app's scope, after its own, so its hooks apply to them */
  routes?: (app: FastifyInstance) => void | Promise<void>
  /** batch sizes and the like for the archiver (the archive is off unless `archive` says otherwise) */
  archiveTuning?: ArchiveTuning
}

/** a mean event-loop delay no test reaches: an hour */
const NO_SHEDDING_MS = 3_600_000

export async function buildTestApp(options: TestAppOptions): Promise<FastifyInstance> {
  const { clock = () => Date.now(), autoStart = false, logLines, routes, archiveTuning, ...input } = options
  // load shedding is off unless a test sets it: the suite runs two files at once beside a browser
  // on two cores, where the event loop stalls for a second now and then, and a 503 for that would
  // fail a test about something else (test/security/load-shedding.test.ts tests shedding itself)
  const config = parseConfig({ selfMonitor: false, archive: 'off', logLevel: logLines ? 'info' : 'silent', shedEventLoopDelayMs: NO_SHEDDING_MS, ...input })
  const stream = logLines && { write: (line: string) => void logLines.push(line) }
  // the same trust the server gives (trustProxy in the config), so X-Forwarded-* tests mean the real thing
  const app = Fastify({ trustProxy: fastifyTrustProxy(config.trustProxy), routerOptions: { maxParamLength: MAX_PARAM_LENGTH }, logger: stream ? { level: config.logLevel, stream } : { level: config.logLevel } })
  // fp: the app's decorators (app.collector, ...) and hooks land on the instance tests hold
  try {
    await app.register(
      fp(async (scope) => {
        await zenith(scope, { config: { ...config, redisUrl: options.redisUrl }, clock, autoStart, archiveTuning })
        await routes?.(scope)
      }),
    )
    await app.ready()
  } catch (error) {
    // a boot that fails half-way (bad users file, exposed open console) has opened Redis
    // connections already; close them as server.ts does, or the test process never exits
    await app.close().catch(() => {})
    throw error
  }
  return app
}

/** A clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
  let now = start
  const clock: Clock & { advance(ms: number): void; set(ms: number): void } = Object.assign(() => now, {
    advance(ms: number) {
      now += ms
    },
    set(ms: number) {
      now = ms
    },
  })
  return clock
}
