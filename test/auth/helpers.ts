/**
 * Logging in the way a browser does: fetch the form (which sets the login cookie), post it back
 * with its token, keep the session cookie.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { hashPassword } from '../../server/auth/passwords.js'

export const FORM = 'application/x-www-form-urlencoded'

export function cookieHeader(response: LightMyRequestResponse, name: string): string {
  const cookie = response.cookies.find((c) => c.name === name)
  if (!cookie) throw new Error(`no ${name} cookie in the response`)
  return `${name}=${cookie.value}`
}

export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (!match) throw new Error(`no ${name} field in the page`)
  return match[1]!
}

export interface LoginAttempt {
  username?: string
  password: string
  next?: string
  ip?: string
  headers?: Record<string, string>
}

/** Fetches the form then posts it; returns the POST response. */
export async function submitLogin(app: FastifyInstance, attempt: LoginAttempt): Promise<LightMyRequestResponse> {
  const form = await app.inject({ url: '/login', remoteAddress: attempt.ip, headers: attempt.headers })
  const fields: Record<string, string> = { _csrf: hiddenField(form.body, '_csrf'), password: attempt.password }
  if (attempt.username !== undefined) fields.username = attempt.username
  if (attempt.next !== undefined) fields.next = attempt.next
  return app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: attempt.ip,
    headers: { ...attempt.headers, 'content-type': FORM, cookie: cookieHeader(form, 'zenith_login') },
    payload: new URLSearchParams(fields).toString(),
  })
}

/** Logs in and returns the session cookie header and the CSRF token pages would carry. */
export async function login(app: FastifyInstance, attempt: LoginAttempt): Promise<{ cookie: string; csrf: string }> {
  const response = await submitLogin(app, attempt)
  if (response.statusCode !== 303) throw new Error(`login answered ${response.statusCode}: ${response.body.slice(0, 200)}`)
  const cookie = cookieHeader(response, 'zenith_session')
  const locals = await app.inject({ url: '/test/locals', headers: { cookie } })
  return { cookie, csrf: (locals.json() as { auth: { csrfToken: string } }).auth.csrfToken }
}

/** Test-only routes registered inside the app's scope, so the auth hooks apply to them. */
export function probeRoutes(app: FastifyInstance) {
  app.get('/test/locals', async (_request, reply) => reply.locals)
  // renders through @fastify/view, which merges reply.locals into the template data
  app.get('/test/rendered', async (_request, reply) =>
    reply.viewAsync(((data: { auth: { csrfHeaders: string; user: { username: string } | null } }) => `${data.auth.user?.username ?? 'nobody'}|${data.auth.csrfHeaders}`) as unknown as string),
  )
  app.post('/test/form', async (request) => ({ body: request.body, user: request.user }))
  app.post('/test/act', { preHandler: app.requireRole('operator') }, async (request) => ({ done: true, by: request.user?.username }))
  app.post('/api/test/echo', async (request) => ({ body: request.body, user: request.user }))
  app.delete('/api/test/item', async () => ({ deleted: true }))
  app.get('/api/test/who', async (request) => ({ user: request.user }))
}

export async function writeUsersFile(users: { username: string; password: string; role: string }[], format: 'json' | 'yaml' = 'json') {
  const dir = mkdtempSync(join(tmpdir(), 'zenith-users-'))
  const entries = await Promise.all(users.map(async (u) => ({ username: u.username, passwordHash: await hashPassword(u.password), role: u.role })))
  const path = join(dir, format === 'json' ? 'users.json' : 'users.yaml')
  const text = format === 'json' ? JSON.stringify({ users: entries }) : `users:\n${entries.map((e) => `  - username: ${e.username}\n    passwordHash: "${e.passwordHash}"\n    role: ${e.role}\n`).join('')}`
  writeFileSync(path, text)
  return path
}
