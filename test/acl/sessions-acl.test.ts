/**
 * Sessions and login counts under the documented ACL: the console user keeps them, and no agent
 * line (for the documented service, or for services named like the auth keys) can read, write,
 * delete or find them.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { documentedAclLines, documentedUserUrl, setUserArgs } from '../helpers/documented-acl.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { hashSessionId } from '../../server/auth/session-store.js'
import { login, probeRoutes, submitLogin, writeUsersFile } from '../auth/helpers.js'

const { server: redisServer, redis: admin } = await useRedis(t)
const keys = createConsoleKeys('gravito:quasar:')

const agentLine = documentedAclLines.find((line) => line.startsWith('ACL SETUSER agent-billing '))!
// the same line for services whose names look like the auth keys' parts
const agentLines = ['billing', 'auth', 'login', 'session', 'user'].map((service) => agentLine.replaceAll('billing', service))
for (const line of [...documentedAclLines, ...agentLines]) await admin.call('ACL', 'SETUSER', ...setUserArgs(line))

const usersFile = await writeUsersFile([{ username: 'ops', password: 'operator password 1', role: 'operator' }])
const app = await buildTestApp({ redisUrl: documentedUserUrl(redisServer.url, 'zenith-console'), usersFile, routes: probeRoutes })
t.teardown(() => app.close())

t.test('the console user keeps sessions and login counts', async (t) => {
  t.equal((await submitLogin(app, { username: 'ops', password: 'wrong', ip: '10.0.0.1' })).statusCode, 401)
  const { cookie, csrf } = await login(app, { username: 'ops', password: 'operator password 1' })
  t.equal((await app.inject({ url: '/test/locals', headers: { cookie } })).statusCode, 200)
  t.equal((await app.inject({ url: '/account', headers: { cookie } })).statusCode, 200)
  const out = await app.inject({ method: 'POST', url: '/account/sessions/end-all', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(csrf)}` })
  t.equal(out.statusCode, 303, 'ending every session works as the console user')
  t.equal((await app.inject({ url: '/test/locals', headers: { cookie } })).statusCode, 303)
})

t.test('no agent can reach them', async (t) => {
  const { cookie } = await login(app, { username: 'ops', password: 'operator password 1' })
  const id = decodeURIComponent(cookie.slice('zenith_session='.length)).replace(/\.[^.]*$/, '')
  const authKeys = [keys.authSession(hashSessionId(id)), keys.authUserSessions('ops'), keys.authUsers(), keys.authLoginFailures('10.0.0.1'), keys.authLoginFailures('10.0.0.1', 'ops')]
  for (const key of authKeys) t.equal(await admin.exists(key), 1, `${key} exists`)

  for (const service of ['billing', 'auth', 'login', 'session', 'user']) {
    const agent = new Redis(documentedUserUrl(redisServer.url, 'agent-billing').replace('agent-billing:agent-billing-secret', `agent-${service}:agent-${service}-secret`))
    t.teardown(() => agent.quit())
    for (const key of authKeys) {
      await t.rejects(agent.get(key), /NOPERM/, `agent-${service} cannot read ${key}`)
      await t.rejects(agent.set(key, '{}'), /NOPERM/, `agent-${service} cannot write ${key}`)
      await t.rejects(agent.zadd(key, 1, 'x'), /NOPERM/, `agent-${service} cannot add to ${key}`)
      await t.rejects(agent.xrange(key, '-', '+'), /NOPERM/, `agent-${service} cannot range ${key}`)
    }
    await t.rejects(agent.call('DEL', keys.authUsers()), /NOPERM/, 'nor delete (no DEL command, no key)')
    await t.rejects(agent.call('SCAN', '0', 'MATCH', 'gravito:quasar:auth:*'), /NOPERM/, 'nor find them')
  }
  t.equal((await app.inject({ url: '/test/locals', headers: { cookie } })).statusCode, 200, 'the session is untouched')
})
