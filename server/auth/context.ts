/**
 * What the auth plugin's hooks and routes share.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { isApiPath, isHtmx, pathOf } from '../web/request.js'
import type { Clock } from '../clock.js'
import type { Credentials } from './credentials.js'
import type { LoginLimiter } from './login-limiter.js'
import type { SessionStore } from './session-store.js'
import type { AuthKeys, AuthUser } from './session.js'

export interface AuthContext {
  clock: Clock
  keys: AuthKeys
  credentials: Credentials
  apiToken?: string
  limiter: LoginLimiter
  sessions: SessionStore
  /** how each request proved who it is, set by the guard */
  auths: WeakMap<FastifyRequest, RequestAuth>
}

/** How a request proved who it is; `open` is the anonymous operator of a console running open. */
export interface RequestAuth {
  user: AuthUser
  via: 'session' | 'token' | 'open'
  /** the CSRF token its writes must carry (the session's own, or the open console's); null when exempt */
  csrfToken: string | null
  /** the cookie's session id, for logout */
  sessionId?: string
}

export const ANONYMOUS: AuthUser = { username: 'anonymous', role: 'operator' }

export const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** Secure cookies when the browser reached us over https (directly, or via a trusted proxy). */
export function cookieBase(request: FastifyRequest) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: request.protocol === 'https', path: '/' }
}

/** A refusal shaped for who asked: JSON under /api/, a short page otherwise. */
export function refuse(request: FastifyRequest, reply: FastifyReply, code: 401 | 403, message: string) {
  if (isApiPath(pathOf(request.url))) {
    return reply.code(code).send({ error: code === 401 ? 'Unauthorized' : 'Forbidden', message })
  }
  return reply.code(code).type('text/plain; charset=utf-8').send(message)
}

/**
 * Sessions and login counts are in Redis: when it does not answer, a login cannot be checked, so
 * the request is refused (fail closed) with a page that says why, not sent to a login that would
 * fail the same way. Probes and the collector's "Redis unreachable" are not affected.
 */
export async function sessionsUnavailable(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const message = 'Zenith keeps logins in Redis, and Redis is not answering, so your session cannot be checked. Nothing was changed; try again once Redis is back.'
  reply.code(503).header('retry-after', '5').header('cache-control', 'no-store')
  if (isApiPath(pathOf(request.url))) return reply.send({ error: 'Service Unavailable', message })
  if (isHtmx(request)) return reply.type('text/plain; charset=utf-8').send(message)
  const html = await reply.viewAsync('auth/unavailable', { title: 'Redis unreachable', message })
  // sent here, so that a hook returning this reply ends the request
  return reply.type('text/html; charset=utf-8').send(html)
}
