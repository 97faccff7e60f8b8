/**
 * A Fastify plugin that records requests slower than a threshold, named by method and route
 * pattern (`GET /users/:id`, never the raw URL with its ids). It uses only the objects Fastify
 * passes in, so the SDK does not depend on Fastify.
 */
import type { QuasarAgent } from '../agent.js'
import { clockOf, thresholdFor, type ThresholdOptions } from './thresholds.js'

interface FastifyLike {
  addHook(name: 'onRequest', hook: (request: RequestLike) => Promise<void>): unknown
  addHook(name: 'onResponse', hook: (request: RequestLike, reply: ReplyLike) => Promise<void>): unknown
}
interface RequestLike {
  method: string
  url: string
  routeOptions?: { url?: string }
}
interface ReplyLike {
  statusCode: number
}

export function quasarFastify(agent: QuasarAgent, options: ThresholdOptions = {}) {
  const now = clockOf(options)
  /** when each request in flight started; entries go with their request */
  const startedAt = new WeakMap<RequestLike, number>()
  const plugin = async (app: FastifyLike) => {
    app.addHook('onRequest', async (request) => {
      startedAt.set(request, now())
    })
    app.addHook('onResponse', async (request, reply) => {
      const started = startedAt.get(request)
      if (started === undefined) return
      const route = request.routeOptions?.url ?? request.url.split('?')[0]!
      const name = `${request.method} ${route}`
      const durationMs = now() - started
      if (durationMs < thresholdFor(options, name)) return
      agent.recordSlow({ kind: 'request', name, durationMs, method: request.method, route, status: reply.statusCode })
    })
  }
  // app-wide hooks: the plugin must not be encapsulated (what fastify-plugin would do)
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'quasar-slow' })
  return plugin
}
