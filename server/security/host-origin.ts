/**
 * DNS rebinding and cross-site writes, refused before anything else runs (auth, CSRF, body
 * validation): a request whose `Host` is not one of the console's names gets 421, and a write
 * (POST, PUT, PATCH, DELETE) whose `Origin`, or without one its `Referer`, is another site gets
 * 403. A write with neither header comes from a script or a bearer-token client, not from a page
 * in a browser (which always sends Origin on a cross-origin write), and goes on to the usual
 * checks.
 *
 * The probes (`/livez`, `/readyz`) answer whatever the Host: orchestrators call them by pod IP,
 * and they are read-only and say nothing about the data. So does `/metrics` when it needs the API
 * token (Prometheus scrapes by pod IP too): a rebinding page cannot send a token it does not know.
 */
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../clock.js'
import { isApiPath, pathOf } from '../web/request.js'
import { allowedHosts } from './allowed-hosts.js'
import { isLoopback } from './loopback.js'

export interface HostOriginOptions {
  publicUrl: string | undefined
  /** the interface the console listens on, for the boot warning */
  listenHost: string
  clock: Clock
  /** read-only routes that need the API token on this console (server/auth/token-routes.ts) */
  tokenGuardedRoutes: ReadonlySet<string>
}

const ANY_HOST_ROUTES = new Set(['/livez', '/readyz'])
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
/** a rebinding page retries in a loop: one log line per window says how many were refused */
const LOG_EVERY_MS = 60_000

export default fp<HostOriginOptions>(
  async (app, options) => {
    const hosts = allowedHosts(options.publicUrl)
    let refusedSinceLog = 0
    let lastLogAt = Number.NEGATIVE_INFINITY

    function logRefusal(request: FastifyRequest, event: string, detail: Record<string, unknown>) {
      refusedSinceLog += 1
      const now = options.clock()
      if (now - lastLogAt < LOG_EVERY_MS && now >= lastLogAt) return
      // the header values are attacker-chosen: bounded before they reach the log
      request.log.warn({ event, refused: refusedSinceLog, method: request.method, ...detail }, 'request from a foreign host or origin refused')
      refusedSinceLog = 0
      lastLogAt = now
    }

    app.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url ?? ''
      if (ANY_HOST_ROUTES.has(route) || options.tokenGuardedRoutes.has(route)) return
      const localPort = request.socket.localPort
      const host = request.headers.host
      if (!hosts.allowsHost(host, localPort)) {
        logRefusal(request, 'foreign_host', { host: String(host ?? '').slice(0, 100) })
        return answer(request, reply, 421, 'Misdirected Request', `this console answers only to ${hosts.names.join(', ')}; set ZENITH_PUBLIC_URL to the URL you open it at`)
      }
      if (!WRITE_METHODS.has(request.method)) return
      const origin = request.headers.origin ?? request.headers.referer
      if (origin !== undefined && !hosts.allowsOrigin(origin, localPort)) {
        logRefusal(request, 'foreign_origin', { origin: origin.slice(0, 100), url: request.url.slice(0, 200) })
        return answer(request, reply, 403, 'Forbidden', 'cross-site request refused: this form or script is not served by this console')
      }
    })

    if (options.publicUrl === undefined && !isLoopback(options.listenHost)) {
      app.log.warn(
        { event: 'no_public_url', host: options.listenHost },
        `listening on ${options.listenHost} without a public URL: only ${hosts.names.join(', ')} are answered; set ZENITH_PUBLIC_URL to the URL people open`,
      )
    }
  },
  { name: 'zenith-host-origin' },
)

function answer(request: FastifyRequest, reply: FastifyReply, code: 403 | 421, error: string, message: string) {
  if (isApiPath(pathOf(request.url))) return reply.code(code).send({ error, message })
  return reply.code(code).type('text/plain; charset=utf-8').send(message)
}
