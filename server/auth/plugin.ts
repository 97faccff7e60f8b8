/**
 * Access control: who may look and who may act. Decorates `request.user` and
 * `app.requireRole(role)`; puts `auth` ({ user, session, csrfToken, csrfHeaders }) into every
 * template's data through `reply.locals`. Fails boot with one line on a bad users file or an exposed open
 * console, and says once at boot when it runs without a password. Sessions and login counts are
 * kept in Redis (the app's connection), so it registers after the Redis plugin. The area's Redis
 * I/O lives in two stores, session-store.ts and login-limiter.ts: their keys, callers and scripts
 * share nothing, and one file holding both would pass 300 lines.
 *
 * The users file is watched (a stat every USERS_FILE_POLL_MS, which also sees an editor that
 * replaces the file): a changed password or a removed user ends that user's sessions at once.
 * A file that no longer parses is logged and ignored; the users read before stay in force.
 */
import { randomBytes } from 'node:crypto'
import { unwatchFile, watchFile } from 'node:fs'
import fp from 'fastify-plugin'
import fastifyCookie from '@fastify/cookie'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { Clock } from '../clock.js'
import type { ZenithConfig } from '../config.js'
import { refuse, type AuthContext, type RequestAuth } from './context.js'
import { createCredentials } from './credentials.js'
import { checkExposure } from './exposure.js'
import { installGuard } from './guard.js'
import { createLoginLimiter } from './login-limiter.js'
import { createSessionStore } from './session-store.js'
import { deriveKeys, type AuthUser } from './session.js'
import { loadUsersFile, ROLES, type Role } from './users.js'
import accountRoutes from './account-routes.js'
import authRoutes from './routes.js'

const USERS_FILE_POLL_MS = 2_000

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
    /** a hook refusing (403) anyone below `role`; as `preValidation` it refuses before the route's schema is checked */
    requireRole(role: Role): preHandlerAsyncHookHandler
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
    const sessions = createSessionStore(app.redis, app.keys)
    const auths = new WeakMap<FastifyRequest, RequestAuth>()
    const context: AuthContext = { clock, keys, credentials, apiToken: config.apiToken, limiter: createLoginLimiter(app.redis, app.keys, clock), sessions, auths }

    await app.register(fastifyCookie, { secret: keys.cookie })

    /** re-reads the users file (the watcher calls it on a change); ends the sessions it invalidates */
    async function reloadUsers(): Promise<void> {
      if (config.usersFile === undefined) return
      let next: Awaited<ReturnType<typeof loadUsersFile>>
      try {
        next = await loadUsersFile(config.usersFile)
      } catch (error) {
        app.log.error({ event: 'users_file_refused', err: error }, `${(error as Error).message}; the users read before stay in force`)
        return
      }
      const changed = credentials.replaceUsers(next)
      app.log.info({ event: 'users_file_reloaded', users: next.size, changed: changed.length }, 'users file reloaded')
      for (const username of changed) {
        // the session check refuses them anyway (their credential no longer matches); this also
        // removes them from Redis, and says so
        const ended = await sessions.endUser(username).catch((error: Error) => {
          app.log.warn({ event: 'sessions_unavailable', err: error, username }, 'could not remove sessions from Redis; they are refused regardless')
          return 0
        })
        app.log.info({ event: 'sessions_ended', username, ended, reason: 'password changed or user removed' }, 'ended sessions of a changed user')
      }
    }

    if (config.usersFile !== undefined) {
      const path = config.usersFile
      let reloading = Promise.resolve()
      // persistent: false, so the watcher never keeps the process alive on its own
      watchFile(path, { interval: USERS_FILE_POLL_MS, persistent: false }, (current, previous) => {
        if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return
        reloading = reloading.then(reloadUsers)
      })
      app.addHook('onClose', async () => {
        unwatchFile(path)
        await reloading
      })
    }

    app.decorateRequest('user', null)
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

    installGuard(app, context)
    await app.register(authRoutes, { context })
    await app.register(accountRoutes, { context })

    if (exposure.warning) app.log.warn({ event: 'running_open', host: config.host }, exposure.warning)
    else app.log.info({ event: 'auth', loginMode: credentials.mode, apiToken: config.apiToken !== undefined }, 'login required')
  },
  { name: 'zenith-auth', dependencies: ['zenith-views', 'zenith-redis'] },
)
