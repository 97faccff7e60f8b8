/**
 * Express/Connect middleware that records requests slower than a threshold, named by method and
 * route pattern when Express matched one (`GET /users/:id`), else the path without its query.
 */
import type { QuasarAgent } from '../agent.js'
import { clockOf, thresholdFor, type ThresholdOptions } from './thresholds.js'

interface RequestLike {
  method?: string
  url?: string
  baseUrl?: string
  path?: string
  route?: { path?: unknown }
}
interface ResponseLike {
  statusCode: number
  once(event: 'finish', listener: () => void): unknown
}

export function quasarExpress(agent: QuasarAgent, options: ThresholdOptions = {}) {
  const now = clockOf(options)
  return function quasarSlowRequests(request: RequestLike, response: ResponseLike, next: () => void): void {
    const started = now()
    response.once('finish', () => {
      const durationMs = now() - started
      const method = request.method ?? 'GET'
      // the route is known only once routing ran, which is why it is read at finish
      const pattern = typeof request.route?.path === 'string' ? `${request.baseUrl ?? ''}${request.route.path}` : undefined
      const route = pattern ?? `${request.baseUrl ?? ''}${request.path ?? (request.url ?? '/').split('?')[0]}`
      const name = `${method} ${route}`
      if (durationMs < thresholdFor(options, name)) return
      agent.recordSlow({ kind: 'request', name, durationMs, method, route, status: response.statusCode })
    })
    next()
  }
}
