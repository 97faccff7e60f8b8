/**
 * Request rate limits (@fastify/rate-limit) where a caller can make the console work or act: the
 * JSON API (reads) and every write that is not the login form (commands: retry, delete, retry
 * all). Each caller has its own budget per minute: a bearer token, else a session cookie, else
 * (an open console) the client address. Keying by session rather than address matters behind a
 * proxy, where every user shares one address and one busy script would lock out everyone.
 * Pages, fragments, assets and probes are not limited: they are served from the snapshot and cost
 * no Redis command, and load shedding covers a saturated event loop.
 *
 * The login form has its own limiter (auth/login-limiter.ts), counted on failures only.
 * Counters live in process memory: each replica keeps its own, as for logins.
 */
import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest, preHandlerHookHandler, RouteOptions } from 'fastify'
import { isApiPath } from '../web/request.js'

export interface RateLimitOptions {
  /** JSON API requests per minute and caller */
  apiPerMinute: number
  /** writes (commands) per minute and caller */
  writesPerMinute: number
  /** the cookie that names a login session: handed over by the app, since access control sits above this layer */
  sessionCookie: string
}

const WINDOW_MS = 60_000
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
/** routes with limits of their own, or none worth having */
const UNLIMITED_WRITES = new Set(['/login', '/logout'])

/** Who is asking, hashed: the counters never hold a token or a cookie. */
export function callerKey(request: FastifyRequest, sessionCookie: string): string {
  const authorization = request.headers.authorization
  if (typeof authorization === 'string' && /^bearer\s/i.test(authorization)) return `token:${digest(authorization)}`
  const session = request.cookies?.[sessionCookie]
  if (session) return `session:${digest(session)}`
  return `address:${request.ip}`
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22)
}

export default fp<RateLimitOptions>(
  async (app, options) => {
    await app.register(rateLimit, { global: false })
    const limiter = (max: number, what: string) =>
      app.rateLimit({
        max,
        timeWindow: WINDOW_MS,
        keyGenerator: (request) => callerKey(request, options.sessionCookie),
        errorResponseBuilder: (_request, context) => Object.assign(new Error(`too many ${what}: at most ${context.max} a minute for each token or session; retry in ${context.after}`), { statusCode: 429 }),
      })
    const api = limiter(options.apiPerMinute, 'API requests')
    const writes = limiter(options.writesPerMinute, 'commands')

    // a preHandler, so the caller is known (auth runs onRequest, CSRF preValidation) and a refused
    // request never counts against the budget of the one it pretended to be
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      if (methods.some((method) => WRITE_METHODS.has(method))) {
        // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Fastify awaits async hooks
        if (!UNLIMITED_WRITES.has(route.url)) appendPreHandler(route, writes)
      } else if (isApiPath(route.url)) {
        // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Fastify awaits async hooks
        appendPreHandler(route, api)
      }
    })
  },
  { name: 'zenith-rate-limits' },
)

function appendPreHandler(route: RouteOptions, handler: preHandlerHookHandler) {
  const existing = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]
  route.preHandler = [...existing, handler]
}
