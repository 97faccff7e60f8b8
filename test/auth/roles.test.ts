import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp, type TestAppOptions } from '../helpers/app.js'
import { FORM, login, probeRoutes, submitLogin, writeUsersFile } from './helpers.js'
import { hashPassword } from '../../server/auth/passwords.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const usersFile = await writeUsersFile([
  { username: 'vera', password: 'vera-viewer-pw', role: 'viewer' },
  { username: 'otto', password: 'otto-operator-pw', role: 'operator' },
])

async function app(t: Test, extra: Partial<TestAppOptions> = {}) {
  const built = await buildTestApp({ redisUrl: redisServer.url, usersFile, routes: probeRoutes, ...extra })
  t.teardown(() => built.close())
  return built
}

t.test('with a users file the form asks for a username and each user logs in with their own password', async (t) => {
  const built = await app(t)
  const form = await built.inject({ url: '/login' })
  t.match(form.body, /name="username"/)

  const vera = await submitLogin(built, { username: 'vera', password: 'vera-viewer-pw' })
  t.equal(vera.statusCode, 303)
  t.equal((await submitLogin(built, { username: 'vera', password: 'otto-operator-pw' })).statusCode, 401, "another user's password")
  t.equal((await submitLogin(built, { username: 'nobody', password: 'vera-viewer-pw' })).statusCode, 401, 'unknown user')
  t.equal((await submitLogin(built, { password: 'vera-viewer-pw' })).statusCode, 401, 'no username')
})

t.test('a viewer cannot pass requireRole(operator); an operator can', async (t) => {
  const built = await app(t)
  const viewer = await login(built, { username: 'vera', password: 'vera-viewer-pw' })
  const operator = await login(built, { username: 'otto', password: 'otto-operator-pw' })
  const act = (session: { cookie: string; csrf: string }) =>
    built.inject({ method: 'POST', url: '/test/act', headers: { cookie: session.cookie, 'content-type': FORM }, payload: `_csrf=${encodeURIComponent(session.csrf)}` })

  const refused = await act(viewer)
  t.equal(refused.statusCode, 403)
  t.match(refused.body, /operator role/)
  const done = await act(operator)
  t.equal(done.statusCode, 200)
  t.same(done.json(), { done: true, by: 'otto' })

  // a viewer still sees everything
  const page = await built.inject({ url: '/test/locals', headers: { cookie: viewer.cookie } })
  t.equal(page.statusCode, 200)
  t.same((page.json() as any).auth.user, { username: 'vera', role: 'viewer' })
})

t.test('the role comes from the users file: a demoted or removed user loses it at once', async (t) => {
  const secret = 'z'.repeat(40)
  const path = await writeUsersFile([{ username: 'otto', password: 'otto-operator-pw', role: 'operator' }])
  const before = await app(t, { usersFile: path, sessionSecret: secret })
  const session = await login(before, { username: 'otto', password: 'otto-operator-pw' })

  const content = JSON.parse(readFileSync(path, 'utf8'))
  content.users[0].role = 'viewer'
  writeFileSync(path, JSON.stringify(content))
  const demoted = await app(t, { usersFile: path, sessionSecret: secret })
  const act = await demoted.inject({ method: 'POST', url: '/test/act', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': FORM }, payload: 'a=1' })
  t.equal(act.statusCode, 403)

  content.users[0].username = 'otto2'
  writeFileSync(path, JSON.stringify(content))
  const removed = await app(t, { usersFile: path, sessionSecret: secret })
  t.equal((await removed.inject({ url: '/pulse', headers: { cookie: session.cookie } })).statusCode, 303)
})

t.test('YAML users files work too', async (t) => {
  const path = await writeUsersFile([{ username: 'yara', password: 'yaml-pw-1', role: 'viewer' }], 'yaml')
  const built = await app(t, { usersFile: path })
  t.equal((await submitLogin(built, { username: 'yara', password: 'yaml-pw-1' })).statusCode, 303)
})

t.test('a bad users file fails boot with one line naming the file and the problem', async (t) => {
  const hash = await hashPassword('pw')
  const cases: [string, string, RegExp][] = [
    ['not yaml', 'users: [\n  - {', /invalid users file .*: not JSON or YAML/],
    ['wrong role', JSON.stringify({ users: [{ username: 'a', passwordHash: hash, role: 'admin' }] }), /users\.0\.role/],
    ['plain password', JSON.stringify({ users: [{ username: 'a', passwordHash: 'secret', role: 'viewer' }] }), /users\.0\.passwordHash: must be an scrypt hash/],
    ['bad username', JSON.stringify({ users: [{ username: 'a b:c', passwordHash: hash, role: 'viewer' }] }), /users\.0\.username/],
    [
      'duplicate',
      JSON.stringify({
        users: [
          { username: 'a', passwordHash: hash, role: 'viewer' },
          { username: 'a', passwordHash: hash, role: 'operator' },
        ],
      }),
      /duplicate username "a"/,
    ],
    ['empty', JSON.stringify({ users: [] }), /at least one user/],
    ['no users key', '{}', /users/],
    ['huge cost', JSON.stringify({ users: [{ username: 'a', passwordHash: hash.replace(/^scrypt\$\d+/, 'scrypt$67108864'), role: 'viewer' }] }), /passwordHash/],
  ]
  for (const [name, content, pattern] of cases) {
    const path = await writeUsersFile([{ username: 'x', password: 'y', role: 'viewer' }])
    writeFileSync(path, content)
    const error = await buildTestApp({ redisUrl: redisServer.url, usersFile: path }).then(
      (built) => built.close().then(() => null),
      (error: Error) => error,
    )
    t.ok(error, `${name}: boot fails`)
    t.match(error?.message, pattern, name)
    t.match(error?.message, path, `${name}: names the file`)
    t.notMatch(error?.message, /\n/, `${name}: one line`)
  }
  const missing = await buildTestApp({ redisUrl: redisServer.url, usersFile: '/nonexistent/users.json' }).catch((error: Error) => error)
  t.match((missing as Error).message, /cannot read users file \/nonexistent\/users\.json: ENOENT/)
})

t.test('a password and a users file together are refused at boot', async (t) => {
  await t.rejects(buildTestApp({ redisUrl: redisServer.url, usersFile, password: 'correct-horse-battery-9' }), /not both/)
})
