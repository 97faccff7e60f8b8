/**
 * Load shedding: when the event loop is saturated (a huge keyspace, a flood of viewers), answer
 * 503 with Retry-After at once rather than queue requests that would time out anyway. /livez and
 * /readyz are never shed: an orchestrator must not restart a console that is merely busy, and
 * readiness reports Redis on its own terms.
 *
 * Only the loop's delay counts, not its utilisation: a loop kept busy by many viewers but still
 * answering promptly is doing its job, and refusing them would turn load into an outage.
 *
 * A sample that measured nothing is not an overload: under-pressure reports an infinite delay when
 * its monitor recorded no value in the interval, which happens whenever the loop is busy through
 * the first interval after start (the monitor's first tick only sets its baseline). Shedding then
 * refused every request for a second, whatever the threshold.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'

export interface LoadSheddingOptions {
  /** mean event-loop delay, over one sample, beyond which requests are refused */
  maxEventLoopDelayMs: number
  /** how often the loop is sampled */
  sampleIntervalMs: number
}

const NEVER_SHED = new Set(['/livez', '/readyz'])
const RETRY_AFTER_SECONDS = 5
const OVERLOADED = 'The console is overloaded; try again shortly.'

async function loadShedding(app: FastifyInstance, options: LoadSheddingOptions) {
  // probes get a handler of their own that lets them through; declared before any route exists
  app.addHook('onRoute', (route) => {
    // under-pressure reads this key but declares no type for it
    if (NEVER_SHED.has(route.url)) route.config = { ...route.config, pressureHandler: letThrough } as typeof route.config
  })
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    sampleInterval: options.sampleIntervalMs,
    pressureHandler: shedMeasuredOverload,
  })
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 503 && reply.getHeader('retry-after') !== undefined) {
      request.log.warn({ event: 'load_shed', url: request.url }, 'event loop saturated: request refused')
    }
  })
}

function letThrough(): void {}

/** under-pressure's handler when over a limit: refuse, unless the delay was not measured at all. */
async function shedMeasuredOverload(_request: FastifyRequest, reply: FastifyReply, _type: string, value: number | undefined): Promise<void> {
  if (value === undefined || !Number.isFinite(value)) return
  reply.code(503).header('Retry-After', RETRY_AFTER_SECONDS)
  throw Object.assign(new Error(OVERLOADED), { statusCode: 503, code: 'FST_UNDER_PRESSURE' })
}

export default fp(loadShedding, { name: 'zenith-load-shedding' })
