/**
 * Sessions kept in Redis: what the cookie and the record hold, logout on every replica, idle and
 * absolute timeouts (fake clock), a changed users file, "log out all sessions", CSRF bound to the
 * session, a cap per user, and failing closed when Redis does not answer.
 */
import t, { type Test } from 'tap'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { hashSessionId, MAX_SESSIONS_PER_USER, SESSION_IDLE_MS, SESSION_TTL_MS } from '../../server/auth/session-store.js'
import { hashPassword } from '../../server/auth/passwords.js'
import { startRedis, useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock, type TestAppOptions } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { FORM, cookieHeader, hiddenField, login, probeRoutes, writeUsersFile } from './helpers.js'

const { server: redisServer, redis: admin } = await useRedis(t)
t.beforeEach(async () => void (await admin.flushdb()))
const keys = createConsoleKeys('gravito:quasar:')

const SECRET = 'r'.repeat(40)
const USERS = [
  { username: 'ops', password: 'operator password 1', role: 'operator' },
  { username: 'alice', password: 'alice password 1', role: 'viewer' },
  { username: 'bob', password: 'bob password 1', role: 'viewer' },
]

type App = Awaited<ReturnType<typeof buildTestApp>>

// replicas read the same file; tests that change it write their own
const sharedUsersFile = await writeUsersFile(USERS)

async function usersApp(t: Test, extra: Partial<TestAppOptions> = {}) {
  const usersFile = extra.usersFile ?? sharedUsersFile
  const app = await buildTestApp({ redisUrl: redisServer.url, usersFile, sessionSecret: SECRET, routes: probeRoutes, ...extra })
  t.teardown(() => app.close())
  return app
}

const as = (name: string) => ({ username: name, password: USERS.find((u) => u.username === name)!.password })
const status = async (app: App, cookie: string, url = '/test/locals') => (await app.inject({ url, headers: { cookie } })).statusCode
const post = (app: App, url: string, cookie: string, csrf?: string) =>
  app.inject({ method: 'POST', url, headers: { cookie, 'content-type': FORM }, payload: csrf === undefined ? '' : `_csrf=${encodeURIComponent(csrf)}` })

/** the id inside a signed cookie header `zenith_session=<id>.<signature>` */
const idOf = (cookie: string) => decodeURIComponent(cookie.slice('zenith_session='.length)).replace(/\.[^.]*$/, '')

t.test('the cookie holds a random id; Redis holds the session under a hash of it', async (t) => {
  const app = await usersApp(t)
  const { cookie, csrf } = await login(app, as('alice'))
  const id = idOf(cookie)
  t.match(id, /^[A-Za-z0-9_-]{43}$/)
  t.notMatch(Buffer.from(id, 'base64url').toString('latin1'), /alice/, 'no username in the cookie')
  t.equal(await admin.exists(keys.authSession(id)), 0, 'the id itself is no key')
  const record = JSON.parse((await admin.get(keys.authSession(hashSessionId(id))))!)
  t.equal(record.u, 'alice')
  t.equal(record.csrf, csrf, 'the CSRF token is kept with the session')
  const ttl = await admin.pttl(keys.authSession(hashSessionId(id)))
  t.ok(ttl > 0 && ttl <= SESSION_IDLE_MS, `Redis drops it by itself after the idle timeout (${ttl} ms)`)
  t.same(await admin.zrange(keys.authUserSessions('alice'), 0, -1), [hashSessionId(id)], 'listed under the user')
})

t.test('logout ends the session on every replica, and its CSRF token with it', async (t) => {
  const one = await usersApp(t)
  const two = await usersApp(t)
  const { cookie, csrf } = await login(one, as('alice'))
  t.equal(await status(two, cookie), 200, 'the second replica knows the session')
  const out = await post(two, '/logout', cookie, csrf)
  t.equal(out.statusCode, 303)
  t.equal(await status(one, cookie), 303, 'the first replica refuses the old cookie')
  t.equal(await status(two, cookie), 303, 'so does the second')
  t.equal((await post(one, '/test/form', cookie, csrf)).statusCode, 303, 'the old cookie and token do nothing')
  t.equal(await admin.exists(keys.authSession(hashSessionId(idOf(cookie)))), 0, 'gone from Redis')
  t.same(await admin.zrange(keys.authUserSessions('alice'), 0, -1), [])
})

t.test("a new login replaces the browser's previous session", async (t) => {
  const app = await usersApp(t)
  const first = await login(app, as('alice'))
  const again = await app.inject({ url: '/login', headers: { cookie: first.cookie } })
  t.equal(again.statusCode, 303, 'logged in: the form sends you on')
  // a login form opened before, posted while logged in as alice
  const form = await app.inject({ url: '/login' })
  const posted = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': FORM, cookie: `${cookieHeader(form, 'zenith_login')}; ${first.cookie}` },
    payload: new URLSearchParams({ _csrf: hiddenField(form.body, '_csrf'), ...as('bob') }).toString(),
  })
  t.equal(posted.statusCode, 303)
  t.equal(await status(app, first.cookie), 303, "alice's session ended when bob logged in over it")
  t.equal(await status(app, cookieHeader(posted, 'zenith_session')), 200)
})

t.test('a session ends after 30 minutes without a request', async (t) => {
  const clock = fakeClock()
  const app = await usersApp(t, { clock })
  const { cookie } = await login(app, as('alice'))
  clock.advance(SESSION_IDLE_MS - 60_000)
  t.equal(await status(app, cookie), 200, '29 minutes idle')
  clock.advance(SESSION_IDLE_MS - 60_000)
  t.equal(await status(app, cookie), 200, 'another 29: the last request counted')
  clock.advance(SESSION_IDLE_MS)
  t.equal(await status(app, cookie), 303, '30 minutes idle: ended')
  t.equal(await admin.exists(keys.authSession(hashSessionId(idOf(cookie)))), 0, 'and removed')
  clock.advance(-SESSION_IDLE_MS)
  t.equal(await status(app, cookie), 303, 'it does not come back')
})

t.test('a session ends 12 hours after its login, however busy', async (t) => {
  const clock = fakeClock()
  const app = await usersApp(t, { clock })
  const { cookie } = await login(app, as('alice'))
  let answered = 0
  for (let elapsed = 0; elapsed < SESSION_TTL_MS - 20 * 60_000; elapsed += 20 * 60_000) {
    clock.advance(20 * 60_000)
    if ((await status(app, cookie)) === 200) answered++
  }
  t.equal(answered, SESSION_TTL_MS / (20 * 60_000) - 1, 'a request every 20 minutes keeps it until then')
  clock.advance(20 * 60_000)
  t.equal(await status(app, cookie), 303, '12 hours after login')
})

t.test("a users-file password change ends that user's sessions on every replica", async (t) => {
  const usersFile = await writeUsersFile(USERS)
  const logLines: string[] = []
  const one = await usersApp(t, { usersFile, logLines })
  // replica two reads its own copy, which has not changed yet (as on another host)
  const copy = `${usersFile}.copy.json`
  copyFileSync(usersFile, copy)
  const two = await usersApp(t, { usersFile: copy })
  const alice = [await login(one, as('alice')), await login(two, as('alice'))]
  const bob = await login(one, as('bob'))

  const changed = USERS.map((u) => (u.username === 'alice' ? { ...u, password: 'alice new password' } : u))
  const entries = await Promise.all(changed.map(async (u) => ({ username: u.username, passwordHash: await hashPassword(u.password), role: u.role })))
  // bob's hash stays the same text: only alice changed
  const current = JSON.parse(readFileSync(usersFile, 'utf8')) as { users: { username: string; passwordHash: string }[] }
  const text = JSON.stringify({ users: entries.map((e) => (e.username === 'alice' ? e : current.users.find((u) => u.username === e.username)!)) })
  writeFileSync(usersFile, text)
  // the reload is logged before the sessions are removed from Redis: wait for the removal
  await eventually(() => logLines.some((line) => line.includes('"sessions_ended"') && line.includes('"alice"')), 'the watcher reads the change and ends the sessions')

  for (const session of alice) {
    // asked first: replica one would also end a session it finds with an old password
    t.equal(await status(two, session.cookie), 303, 'refused by the replica that has not read the change: the sessions are gone from Redis')
    t.equal(await status(one, session.cookie), 303, 'and by the one that read it')
  }
  t.equal(await status(one, bob.cookie), 200, "bob's session goes on")
  t.equal(await status(two, bob.cookie), 200)
  t.ok(
    logLines.some((line) => line.includes('"sessions_ended"') && line.includes('"alice"') && line.includes('"ended":2')),
    'logged, with the count',
  )
  t.equal((await login(one, { username: 'alice', password: 'alice new password' })).cookie.length > 0, true, 'the new password works')
})

t.test('the users file is watched; a file that no longer parses changes nothing', async (t) => {
  const usersFile = await writeUsersFile(USERS)
  const logLines: string[] = []
  const app = await usersApp(t, { usersFile, logLines })
  const bob = await login(app, as('bob'))
  writeFileSync(usersFile, '{ "users": [ { "username": "bob" ')
  await eventually(() => logLines.some((line) => line.includes('"users_file_refused"')), 'the watcher reads the broken file')
  t.equal(await status(app, bob.cookie), 200, 'users read before stay in force')

  writeFileSync(usersFile, JSON.stringify({ users: [{ username: 'ops', passwordHash: await hashPassword('operator password 1'), role: 'operator' }] }))
  await eventually(async () => (await status(app, bob.cookie)) === 303, 'bob, removed from the file, is logged out')
})

t.test('"Log out all my sessions" ends every session of that user only', async (t) => {
  const one = await usersApp(t)
  const two = await usersApp(t)
  const alice = [await login(one, as('alice')), await login(two, as('alice')), await login(one, as('alice'))]
  const bob = await login(two, as('bob'))

  const page = await one.inject({ url: '/account', headers: { cookie: alice[0]!.cookie } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<span class="account-sessions">3<\/span> sessions/)
  t.match(page.body, /action="\/account\/sessions\/end-mine"/)
  t.notMatch(page.body, /end-all/, 'a viewer is not offered to log everyone out')

  t.equal((await post(one, '/account/sessions/end-mine', alice[0]!.cookie)).statusCode, 403, 'without its CSRF token')
  t.equal((await post(one, '/account/sessions/end-mine', alice[0]!.cookie, bob.csrf)).statusCode, 403, "with another session's token")
  t.equal(await status(one, alice[1]!.cookie), 200, 'nothing ended yet')

  const ended = await post(one, '/account/sessions/end-mine', alice[0]!.cookie, alice[0]!.csrf)
  t.equal(ended.statusCode, 303)
  t.equal(ended.headers.location, '/login')
  t.equal(ended.cookies.find((c) => c.name === 'zenith_session')?.value, '', 'this browser forgets its cookie')
  for (const session of alice) t.equal(await status(two, session.cookie), 303, 'every session of alice, on any replica')
  t.equal(await status(one, bob.cookie), 200, 'bob is not affected')
})

t.test('an operator can log everyone out; a viewer cannot', async (t) => {
  const app = await usersApp(t)
  const ops = await login(app, as('ops'))
  const alice = await login(app, as('alice'))
  const bob = await login(app, as('bob'))

  t.match((await app.inject({ url: '/account', headers: { cookie: ops.cookie } })).body, /action="\/account\/sessions\/end-all"/)
  t.equal((await post(app, '/account/sessions/end-all', alice.cookie, alice.csrf)).statusCode, 403, 'a viewer is refused')
  t.equal(await status(app, bob.cookie), 200, 'and ended nothing')

  t.equal((await post(app, '/account/sessions/end-all', ops.cookie)).statusCode, 403, 'the operator needs the CSRF token too')
  const ended = await post(app, '/account/sessions/end-all', ops.cookie, ops.csrf)
  t.equal(ended.statusCode, 303)
  for (const session of [ops, alice, bob]) t.equal(await status(app, session.cookie), 303)
  t.same(await admin.keys('gravito:quasar:auth:{auth}:*'), [], 'nothing of the sessions is left in Redis')
})

t.test('a user keeps at most the newest sessions; older ones end', async (t) => {
  const app = await usersApp(t)
  const sessions: { cookie: string }[] = []
  for (let i = 0; i < MAX_SESSIONS_PER_USER + 2; i++) sessions.push(await login(app, as('alice')))
  t.equal(await status(app, sessions[0]!.cookie), 303, 'the oldest ended')
  t.equal(await status(app, sessions[1]!.cookie), 303)
  t.equal(await status(app, sessions[2]!.cookie), 200)
  t.equal(await status(app, sessions.at(-1)!.cookie), 200)
  t.equal(await admin.zcard(keys.authUserSessions('alice')), MAX_SESSIONS_PER_USER)
  t.equal((await admin.keys(keys.authSession('*'))).length, MAX_SESSIONS_PER_USER)
})

t.test('a record that is not ours is refused, not trusted and not a crash', async (t) => {
  const app = await usersApp(t)
  const { cookie } = await login(app, as('alice'))
  const key = keys.authSession(hashSessionId(idOf(cookie)))
  for (const bad of ['not json', '{"u":"ops","fp":"x","csrf":"short","created":0,"seen":0}', JSON.stringify({ u: 'ops' }), 'x'.repeat(10_000)]) {
    await admin.set(key, bad)
    t.equal(await status(app, cookie), 303, bad.slice(0, 40))
  }
  await admin.del(key)
  await admin.sadd(key, 'a set')
  t.equal(await status(app, cookie), 503, 'a key of the wrong type is a Redis error: fail closed')
})

t.test('Redis down: logged-in requests fail closed with a page that says why; health is unchanged', async (t) => {
  const local = await startRedis()
  t.teardown(() => local.stop())
  const app = await usersApp(t, { redisUrl: local.url, partTimeoutMs: 1000 })
  await app.collector.refresh()
  const { cookie } = await login(app, as('alice'))
  t.equal(await status(app, cookie, '/pulse'), 200)

  await local.kill()
  await app.collector.refresh()
  const page = await app.inject({ url: '/pulse', headers: { cookie } })
  t.equal(page.statusCode, 503)
  t.equal(page.headers['retry-after'], '5')
  t.match(page.body, /Redis is not answering, so your session cannot be checked/)
  t.notMatch(page.body, /class="topbar"/, 'nothing of the console shows')
  const api = await app.inject({ url: '/api/pulse/nodes', headers: { cookie } })
  t.equal(api.statusCode, 503)
  t.match(api.json(), { error: 'Service Unavailable' })
  const fragment = await app.inject({ url: '/fragments/pulse/nodes', headers: { cookie, 'hx-request': 'true' } })
  t.equal(fragment.statusCode, 503)
  t.equal((await post(app, '/logout', cookie, 'whatever')).statusCode, 503, 'a write too, before any other check')

  t.equal((await app.inject({ url: '/pulse' })).statusCode, 303, 'without a cookie: the login page, as before')
  t.equal((await app.inject({ url: '/login', headers: { cookie } })).statusCode, 200, 'the login form still shows')
  t.equal((await app.inject({ url: '/livez', headers: { cookie } })).statusCode, 200, '/livez answers from memory')
  const ready = await app.inject({ url: '/readyz', headers: { cookie } })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { reason: 'redis unreachable' }, '/readyz says what it always said')
})
