/**
 * The hooks every request passes through:
 * - onRequest: who is asking (Bearer token under /api/, else the session cookie, else anonymous
 *   when running open; on the token routes, ./token-routes.ts, the Bearer token only);
 *   unauthenticated requests go to the login page (browsers), get 401 with HX-Redirect (htmx,
 *   which would otherwise swap the login page into a fragment), 401 JSON (API) or 401 text saying
 *   how to send the token (token routes).
 *   A session cookie is looked up in Redis; when Redis does not answer the request is refused
 *   with 503 (fail closed), except on the open routes, which go on as if no cookie was sent.
 *   JSON API writes must say `application/json`, which a cross-site form or simple fetch cannot.
 * - preValidation (after body parsing): state-changing requests carry their session's CSRF token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isApiPath, isHtmx, pathOf } from '../web/request.js'
import { ANONYMOUS, WRITE_METHODS, refuse, sessionsUnavailable, type AuthContext, type RequestAuth } from './context.js'
import { SESSION_COOKIE, csrfToken, loginUrl, safeEqual } from './session.js'
import { TOKEN_ROUTES, tokenRouteRefusal } from './token-routes.js'

/** Route patterns anyone may reach: probes, static assets, the login form itself. */
const OPEN_ROUTES = new Set(['/livez', '/readyz', '/login', '/assets/*'])
/** Open routes that never look at a session: they answer from memory, whatever Redis does. */
const SESSIONLESS_ROUTES = new Set(['/livez', '/readyz', '/assets/*'])

export const CSRF_HEADER = 'x-csrf-token'
export const CSRF_FIELD = '_csrf'

/** the session lookup failed because Redis did not answer */
const UNAVAILABLE = Symbol('sessions unavailable')

export function installGuard(app: FastifyInstance, context: AuthContext) {
  const { credentials, keys, apiToken, sessions, auths } = context
  const loginRequired = credentials.mode !== 'none'
  /** the API and the token routes take the token whenever there is a login or a token (tokenRequired) */
  const tokenNeeded = loginRequired || apiToken !== undefined
  const openToken = csrfToken(keys, 'anonymous')

  async function fromSession(request: FastifyRequest): Promise<RequestAuth | null> {
    const raw = request.cookies[SESSION_COOKIE]
    if (!loginRequired || !raw) return null
    const unsigned = request.unsignCookie(raw)
    if (!unsigned.valid || unsigned.value === null) return null
    const id = unsigned.value
    const session = await sessions.find(id, context.clock())
    if (!session) return null
    const user = credentials.fromSession(session)
    if (!user) {
      // the user is gone or the password changed: this session stands for nobody any more
      await sessions.end(id, session.u)
      return null
    }
    return { user, via: 'session', csrfToken: session.csrf, sessionId: id }
  }

  /** The caller's identity, null when none was given, 'bad-token' when a wrong one was. */
  async function identify(request: FastifyRequest, api: boolean): Promise<RequestAuth | 'bad-token' | typeof UNAVAILABLE | null> {
    const authorization = request.headers.authorization
    const route = request.routeOptions.url ?? ''
    const tokenRoute = TOKEN_ROUTES.has(route)
    if ((api || tokenRoute) && apiToken !== undefined && authorization !== undefined) {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)
      return match && safeEqual(match[1]!, apiToken) ? { user: { username: 'api-token', role: 'operator' }, via: 'token', csrfToken: null } : 'bad-token'
    }
    if (tokenRoute) return tokenNeeded ? null : { user: ANONYMOUS, via: 'open', csrfToken: openToken }
    if (!SESSIONLESS_ROUTES.has(route)) {
      try {
        const session = await fromSession(request)
        if (session) return session
      } catch (error) {
        request.log.warn({ event: 'sessions_unavailable', err: error }, 'session lookup failed: Redis not answering')
        if (!OPEN_ROUTES.has(route)) return UNAVAILABLE
      }
    }
    const required = api ? tokenNeeded : loginRequired
    return required ? null : { user: ANONYMOUS, via: 'open', csrfToken: openToken }
  }

  function sendToLogin(request: FastifyRequest, reply: FastifyReply, api: boolean) {
    if (TOKEN_ROUTES.has(request.routeOptions.url ?? '')) {
      // a scraper follows no redirect and reads no login page: say what to send
      if (apiToken !== undefined) reply.header('www-authenticate', 'Bearer realm="zenith"')
      return refuse(request, reply, 401, tokenRouteRefusal(apiToken))
    }
    if (isChartDataPath(pathOf(request.url))) {
      // the charts' fetch would follow a redirect and try to read the login page as JSON
      return reply.code(401).send({ error: 'Unauthorized', message: 'log in first: reload the page' })
    }
    if (api) {
      if (apiToken !== undefined) reply.header('www-authenticate', 'Bearer realm="zenith"')
      return refuse(request, reply, 401, 'log in or send Authorization: Bearer <token>')
    }
    if (isHtmx(request)) {
      // htmx follows a 303 inside fetch and would swap the login page into the fragment
      return reply
        .code(401)
        .header('hx-redirect', loginUrl(pathOfUrl(request.headers['hx-current-url'])))
        .type('text/plain; charset=utf-8')
        .send('log in first')
    }
    const next = request.method === 'GET' || request.method === 'HEAD' ? request.url : undefined
    return reply.redirect(loginUrl(next), 303)
  }

  app.addHook('onRequest', async (request, reply) => {
    const api = isApiPath(pathOf(request.url))
    const found = await identify(request, api)
    if (found === 'bad-token') return sendToLogin(request, reply, true)
    if (found === UNAVAILABLE) return sessionsUnavailable(request, reply)
    if (found) {
      request.user = found.user
      auths.set(request, found)
    }
    const token = found?.csrfToken ?? ''
    reply.locals = {
      ...reply.locals,
      auth: {
        user: found?.user ?? null,
        session: found?.via === 'session',
        csrfToken: token,
        // for `hx-headers:inherited` on <body>; the template escapes it like any other string
        csrfHeaders: token ? JSON.stringify({ 'X-CSRF-Token': token }) : '',
      },
    }
    if (!found && !OPEN_ROUTES.has(request.routeOptions.url ?? '')) return sendToLogin(request, reply, api)
    if (api && needsJsonBody(request) && !isJson(request.headers['content-type'])) {
      return reply.code(415).send({ error: 'Unsupported Media Type', message: 'API writes must send Content-Type: application/json' })
    }
  })

  app.addHook('preValidation', async (request, reply) => {
    if (!WRITE_METHODS.has(request.method) || request.routeOptions.url === '/login') return
    const auth = auths.get(request)
    if (auth?.via === 'token') return
    // an open console's API writes are guarded by the JSON rule: no cookie rides along, and a
    // cross-site page cannot send application/json without a CORS preflight we never answer
    if (auth?.via === 'open' && isApiPath(pathOf(request.url))) return
    const expected = auth?.csrfToken ?? null
    const body = request.body !== null && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : undefined
    const given = request.headers[CSRF_HEADER] ?? body?.[CSRF_FIELD]
    if (expected === null || typeof given !== 'string' || !safeEqual(given, expected)) {
      request.log.warn({ event: 'csrf_refused', method: request.method, url: pathOf(request.url), user: auth?.user.username }, 'missing or invalid CSRF token')
      return refuse(request, reply, 403, 'missing or invalid CSRF token: reload the page and try again')
    }
    // forms validate their own fields; the token is not one of them
    if (body) delete body[CSRF_FIELD]
  })
}

/**
 * Chart data (`/charts/...`) is page-side: it passes with the page's authorisation (session, or
 * open when there is no login), not the API token, so a chart works wherever its page does.
 */
function isChartDataPath(path: string): boolean {
  return path.startsWith('/charts/')
}

function needsJsonBody(request: FastifyRequest): boolean {
  if (request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH') return true
  // a bodiless DELETE is not a simple request (it needs a preflight), and Fastify refuses an empty JSON body
  if (request.method !== 'DELETE') return false
  return request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0'
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() === 'application/json'
}

function pathOfUrl(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined
  try {
    const url = new URL(value)
    return url.pathname + url.search
  } catch {
    return undefined
  }
}
