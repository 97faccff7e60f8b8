/**
 * `/login` and `/logout`. The login form carries its own CSRF token: there is no session yet, so
 * the token is an HMAC of a random nonce kept in a short-lived signed cookie. A cross-site page can
 * neither read the token nor make a matching cookie, so it cannot log a victim into its account.
 * Failed logins are counted per account and address, and per address (login-limiter.ts); past a
 * limit the form answers 429 with Retry-After, even to the right password, until the window ends.
 * The client address is the socket's, or what a trusted proxy says (`--trust-proxy`).
 */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { cookieBase, sessionsUnavailable, type AuthContext } from './context.js'
import { PASSWORD_USERNAME } from './credentials.js'
import type { Attempt } from './login-limiter.js'
import { loginFormSchema, loginQuerySchema } from './schemas.js'
import { SESSION_TTL_MS } from './session-store.js'
import { LOGIN_COOKIE, LOGIN_FORM_TTL_MS, SESSION_COOKIE, loginFormToken, safeEqual, safeNext } from './session.js'

/** the account unknown usernames are counted under: there is nothing to lock, only guesses to count */
const UNKNOWN_ACCOUNT = '?'

interface FormState {
  next: string
  error?: string
  username?: string
}

export default async function authRoutes(app: FastifyInstance, options: { context: AuthContext }) {
  const { credentials, keys, limiter, clock, sessions, auths } = options.context
  const usernameField = credentials.mode === 'users'

  /** The nonce of a still-valid login cookie, so two open login tabs both work. */
  function currentNonce(request: FastifyRequest): string | null {
    const raw = request.cookies[LOGIN_COOKIE]
    if (!raw) return null
    const unsigned = request.unsignCookie(raw)
    if (!unsigned.valid || !unsigned.value) return null
    const [nonce, expiry] = unsigned.value.split(':')
    return nonce && Number(expiry) > clock() ? nonce : null
  }

  function renderForm(request: FastifyRequest, reply: FastifyReply, code: number, state: FormState) {
    let nonce = currentNonce(request)
    if (!nonce) {
      nonce = randomBytes(16).toString('base64url')
      reply.setCookie(LOGIN_COOKIE, `${nonce}:${clock() + LOGIN_FORM_TTL_MS}`, {
        ...cookieBase(request),
        path: '/login',
        maxAge: LOGIN_FORM_TTL_MS / 1000,
        signed: true,
      })
    }
    // a login page must never be cached or framed with someone's typed username in it
    reply.code(code).header('cache-control', 'no-store')
    return reply.viewAsync('auth/login', {
      title: 'Log in',
      usernameField,
      formToken: loginFormToken(keys, nonce),
      next: state.next,
      error: state.error ?? '',
      username: state.username ?? '',
    })
  }

  app.get('/login', async (request, reply) => {
    if (credentials.mode === 'none') return reply.redirect('/', 303)
    const query = loginQuerySchema.safeParse(request.query)
    const next = safeNext(query.success ? query.data.next : undefined)
    if (request.user) return reply.redirect(next, 303)
    return renderForm(request, reply, 200, { next })
  })

  /** The lock-out answer: when to come back, as a header and in words. */
  function limited(request: FastifyRequest, reply: FastifyReply, state: FormState, refusal: Extract<Attempt, { ok: false }>) {
    const seconds = Math.ceil(refusal.retryAfterMs / 1000)
    const at = new Date(clock() + seconds * 1000).toISOString().slice(11, 16)
    const who = refusal.locked === 'account' && usernameField ? ' for this account' : ''
    request.log.warn({ event: 'login_rate_limited', ip: request.ip, locked: refusal.locked, retryAfterS: seconds }, 'login refused: too many failed attempts')
    reply.header('retry-after', String(seconds))
    return renderForm(request, reply, 429, { ...state, error: `Too many failed logins${who} from your address. Try again in ${Math.ceil(seconds / 60)} min (at ${at} UTC).` })
  }

  app.post('/login', async (request, reply) => {
    if (credentials.mode === 'none') return reply.redirect('/', 303)
    const ip = request.ip
    const raw = (request.body ?? {}) as Record<string, unknown>
    const next = safeNext(raw.next)

    const form = loginFormSchema.safeParse(raw)
    if (!form.success) return renderForm(request, reply, 400, { next, error: 'Enter your password.' })
    const { username, password, _csrf } = form.data

    const nonce = currentNonce(request)
    if (!nonce || !safeEqual(_csrf, loginFormToken(keys, nonce))) {
      request.log.warn({ event: 'login_csrf_refused', ip }, 'login refused: form token missing or expired')
      return renderForm(request, reply, 403, { next, error: 'This form expired. Please try again.', username })
    }

    const account = !usernameField ? PASSWORD_USERNAME : credentials.knows(username) ? username! : UNKNOWN_ACCOUNT
    let attempt: Attempt
    try {
      // counted before scrypt runs, so a burst of parallel attempts cannot all get past the limit
      attempt = await limiter.attempt(account, ip)
    } catch (error) {
      request.log.warn({ event: 'sessions_unavailable', err: error }, 'login refused: Redis not answering')
      return sessionsUnavailable(request, reply)
    }
    if (!attempt.ok) return limited(request, reply, { next, username }, attempt)

    const user = await credentials.verify(usernameField ? username : undefined, password)
    if (!user) {
      // the username only when it is a real account: people type passwords into the wrong field
      const known = account !== UNKNOWN_ACCOUNT && usernameField
      request.log.warn({ event: 'login_failed', ip, username: known ? username : undefined, unknownUser: usernameField && !known }, 'login failed')
      return renderForm(request, reply, 401, { next, error: usernameField ? 'Wrong username or password.' : 'Wrong password.', username })
    }

    let id: string
    try {
      await limiter.succeeded(account, ip)
      // a new login replaces the session this browser had, if any
      const previous = auths.get(request)
      if (previous?.sessionId) await sessions.end(previous.sessionId, previous.user.username)
      id = (await sessions.create(user.username, user.fingerprint, clock())).id
    } catch (error) {
      request.log.warn({ event: 'sessions_unavailable', err: error }, 'login refused: Redis not answering')
      return sessionsUnavailable(request, reply)
    }
    reply.setCookie(SESSION_COOKIE, id, { ...cookieBase(request), maxAge: SESSION_TTL_MS / 1000, signed: true })
    reply.clearCookie(LOGIN_COOKIE, { ...cookieBase(request), path: '/login' })
    request.log.info({ event: 'login', ip, username: user.username, role: user.role }, 'logged in')
    return reply.redirect(next, 303)
  })

  // the CSRF token was checked by the guard before this runs; the session ends for every replica
  app.post('/logout', async (request, reply) => {
    const auth = auths.get(request)
    if (auth?.sessionId) {
      try {
        await sessions.end(auth.sessionId, auth.user.username)
      } catch (error) {
        request.log.warn({ event: 'sessions_unavailable', err: error }, 'logout failed: Redis not answering')
        return sessionsUnavailable(request, reply)
      }
    }
    reply.clearCookie(SESSION_COOKIE, cookieBase(request))
    if (request.user) request.log.info({ event: 'logout', username: request.user.username }, 'logged out')
    return reply.redirect(credentials.mode === 'none' ? '/' : '/login', 303)
  })
}
