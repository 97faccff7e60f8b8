/**
 * What the auth plugin's hooks and routes share, and the small request helpers they all use.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../clock.js'
import type { Credentials } from './credentials.js'
import type { LoginLimiter } from './login-limiter.js'
import type { AuthKeys, AuthUser } from './session.js'

export interface AuthContext {
  clock: Clock
  keys: AuthKeys
  credentials: Credentials
  apiToken?: string
  limiter: LoginLimiter
}

/** How a request proved who it is; `open` is the anonymous operator of a console running open. */
export interface RequestAuth {
  user: AuthUser
  via: 'session' | 'token' | 'open'
  /** what its CSRF token is derived from (session id, or `anonymous`); null when exempt */
  csrfSubject: string | null
}

export const ANONYMOUS: AuthUser = { username: 'anonymous', role: 'operator' }

export const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function pathOf(url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/')
}

export function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] !== undefined
}

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
