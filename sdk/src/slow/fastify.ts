/**
 * A Fastify plugin that records requests slower than a threshold, named by method and route
 * pattern (`GET /users/:id`, never the raw URL with its ids). It uses only the objects Fastify
 * passes in, so the SDK does not depend on Fastify.
 */
import type { QuasarAgent } from '../agent.js'
import { thresholdFor, type ThresholdOptions } from './thresholds.js'

interface FastifyLike {
  addHook(name: 'onResponse', hook: (request: RequestLike, reply: ReplyLike) => Promise<void>): unknown
}
interface RequestLike {
  method: string
  url: string
  routeOptions?: { url?: string }
}
interface ReplyLike {
  statusCode: number
  elapsedTime: number
}

export function quasarFastify(agent: QuasarAgent, options: ThresholdOptions = {}) {
  const plugin = async (app: FastifyLike) => {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions?.url ?? request.url.split('?')[0]!
      const name = `${request.method} ${route}`
      const durationMs = reply.elapsedTime
      if (durationMs < thresholdFor(options, name)) return
      agent.recordSlow({ kind: 'request', name, durationMs, method: request.method, route, status: reply.statusCode })
    })
  }
  // app-wide hooks: the plugin must not be encapsulated (what fastify-plugin would do)
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'quasar-slow' })
  return plugin
}
