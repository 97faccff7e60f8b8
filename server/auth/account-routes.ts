/**
 * `/account`: who you are logged in as, and the way to end sessions you cannot reach.
 * - "Log out all my sessions" (any logged-in user): ends every session of this user, on every
 *   device and replica, this one included. For a cookie you lost or left on a shared machine.
 * - "Log out everyone" (operators): ends every session of every user, for a suspected leak. An
 *   operator must be able to revoke a viewer's stolen cookie, and a viewer must not end others'.
 * Both are forms with the session's CSRF token; both send the browser to the login page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { cookieBase, sessionsUnavailable, type AuthContext } from './context.js'
import { SESSION_COOKIE } from './session.js'

export default async function accountRoutes(app: FastifyInstance, options: { context: AuthContext }) {
  const { sessions, auths, clock } = options.context

  async function endAndLeave(request: FastifyRequest, reply: FastifyReply, everyone: boolean) {
    const auth = auths.get(request)
    if (auth?.via !== 'session') return reply.code(400).type('text/plain; charset=utf-8').send('there is no login session to end: this console runs without one')
    let ended: number
    try {
      ended = everyone ? await sessions.endAll() : await sessions.endUser(auth.user.username)
    } catch (error) {
      request.log.warn({ event: 'sessions_unavailable', err: error }, 'ending sessions failed: Redis not answering')
      return sessionsUnavailable(request, reply)
    }
    request.log.info({ event: everyone ? 'logout_everyone' : 'logout_all_sessions', username: auth.user.username, ended }, everyone ? 'ended every session of every user' : 'ended every session of this user')
    reply.clearCookie(SESSION_COOKIE, cookieBase(request))
    return reply.redirect('/login', 303)
  }

  app.get('/account', async (request, reply) => {
    const auth = auths.get(request)
    let sessionCount: number | null = null
    if (auth?.via === 'session') {
      try {
        sessionCount = await sessions.count(auth.user.username, clock())
      } catch (error) {
        request.log.warn({ event: 'sessions_unavailable', err: error }, 'counting sessions failed: Redis not answering')
        return sessionsUnavailable(request, reply)
      }
    }
    reply.header('cache-control', 'no-store')
    return reply.viewAsync('auth/account', { title: 'Account', view: { user: request.user, session: auth?.via === 'session', sessionCount } }, { layout: 'layout' })
  })

  app.post('/account/sessions/end-mine', async (request, reply) => endAndLeave(request, reply, false))
  app.post('/account/sessions/end-all', { preHandler: app.requireRole('operator') }, async (request, reply) => endAndLeave(request, reply, true))
}
