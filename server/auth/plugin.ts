/**
 * Access control: who may look and who may act. Decorates `request.user`, `app.requireRole(role)`
 * and `app.auth`; puts `auth` ({ user, session, csrfToken, csrfHeaders }) into every template's
 * data through `reply.locals`. Fails boot with one line on a bad users file or an exposed open
 * console, and says once at boot when it runs without a password.
 */
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyCookie from '@fastify/cookie'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { Clock } from '../clock.js'
import type { ZenithConfig } from '../config.js'
import { refuse, type AuthContext, type RequestAuth } from './context.js'
import { createCredentials, type LoginMode } from './credentials.js'
import { checkExposure } from './exposure.js'
import { installGuard } from './guard.js'
import { createLoginLimiter } from './login-limiter.js'
import { deriveKeys, type AuthUser } from './session.js'
import { loadUsersFile, ROLES, type Role } from './users.js'
import authRoutes from './routes.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** who is asking; null only on open routes (login, probes, assets) reached without a login */
    user: AuthUser | null
  }
  interface FastifyReply {
    /** merged by @fastify/view into every template's data */
    locals: Record<string, unknown> | undefined
  }
  interface FastifyInstance {
    /** preHandler refusing (403) anyone below `role`, e.g. `{ preHandler: app.requireRole('operator') }` */
    requireRole(role: Role): preHandlerAsyncHookHandler
    auth: { loginMode: LoginMode; apiToken: boolean }
  }
}

export interface AuthPluginOptions {
  config: ZenithConfig
  clock: Clock
}

export default fp<AuthPluginOptions>(
  async (app, options) => {
    const { config, clock } = options
    const exposure = checkExposure(config)
    if (!exposure.ok) throw new Error(exposure.error)

    const users = config.usersFile !== undefined ? await loadUsersFile(config.usersFile) : undefined
    // a random secret is fine for one process; sessions then end when it restarts
    const keys = deriveKeys(config.sessionSecret ?? randomBytes(32))
    const credentials = await createCredentials({ password: config.password, users }, keys)
    const context: AuthContext = { clock, keys, credentials, apiToken: config.apiToken, limiter: createLoginLimiter({ clock }) }

    await app.register(fastifyCookie, { secret: keys.cookie })

    const auths = new WeakMap<FastifyRequest, RequestAuth>()
    app.decorateRequest('user', null)
    app.decorate('auth', { loginMode: credentials.mode, apiToken: config.apiToken !== undefined })
    app.decorate('requireRole', (role: Role) => {
      const needed = ROLES.indexOf(role)
      return async (request: FastifyRequest, reply: FastifyReply) => {
        const user = request.user
        if (!user) return refuse(request, reply, 401, 'log in first')
        if (ROLES.indexOf(user.role) < needed) {
          request.log.warn({ event: 'role_refused', username: user.username, role: user.role, needed: role, url: request.url }, 'role too low')
          return refuse(request, reply, 403, `the ${role} role is needed for this`)
        }
      }
    })

    installGuard(app, context, auths)
    await app.register(authRoutes, { context })

    if (exposure.warning) app.log.warn({ event: 'running_open', host: config.host }, exposure.warning)
    else app.log.info({ event: 'auth', loginMode: credentials.mode, apiToken: config.apiToken !== undefined }, 'login required')
  },
  { name: 'zenith-auth', dependencies: ['zenith-views'] },
)
