/**
 * Login limits through the login form: per account and address, per address over all accounts,
 * what a success clears, the lock-out answer, and replicas sharing one count through Redis.
 */
import t, { type Test } from 'tap'
import { startRedis, useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock, type TestAppOptions } from '../helpers/app.js'
import { probeRoutes, submitLogin, writeUsersFile } from './helpers.js'

const { server: redisServer, redis: admin } = await useRedis(t)
// every test starts with no counts left over from another
t.beforeEach(async () => void (await admin.flushdb()))

const usersFile = await writeUsersFile([
  { username: 'ops', password: 'operator password 1', role: 'operator' },
  { username: 'viewer', password: 'viewer password 1', role: 'viewer' },
  ...['a', 'b', 'c', 'd', 'e'].map((name) => ({ username: `user-${name}`, password: `password of ${name}`, role: 'viewer' })),
])

async function usersApp(t: Test, extra: Partial<TestAppOptions> = {}) {
  const app = await buildTestApp({ redisUrl: redisServer.url, usersFile, sessionSecret: 's'.repeat(40), routes: probeRoutes, ...extra })
  t.teardown(() => app.close())
  return app
}

const guess = (app: Awaited<ReturnType<typeof usersApp>>, username: string, ip: string, i = 0) => submitLogin(app, { username, password: `guess ${i}`, ip }).then((r) => r.statusCode)

t.test('a viewer logging in as itself between guesses gains no guesses at the operator', async (t) => {
  const app = await usersApp(t)
  const codes: number[] = []
  for (let i = 0; i < 5; i++) {
    codes.push(await guess(app, 'ops', '10.1.0.1', i))
    t.equal((await submitLogin(app, { username: 'viewer', password: 'viewer password 1', ip: '10.1.0.1' })).statusCode, 303, 'the viewer logs in')
  }
  t.same(codes, [401, 401, 401, 401, 401])
  const locked = await submitLogin(app, { username: 'ops', password: 'operator password 1', ip: '10.1.0.1' })
  t.equal(locked.statusCode, 429, 'the operator account is locked from this address, right password or not')
})

t.test('the lock-out answer says when to retry, in a header and in words', async (t) => {
  const clock = fakeClock()
  const app = await usersApp(t, { clock })
  for (let i = 0; i < 4; i++) await guess(app, 'ops', '10.2.0.1', i)
  clock.advance(5 * 60_000)
  await guess(app, 'ops', '10.2.0.1', 4)
  const locked = await submitLogin(app, { username: 'ops', password: 'operator password 1', ip: '10.2.0.1' })
  t.equal(locked.statusCode, 429)
  t.equal(locked.headers['retry-after'], String(10 * 60), 'the window started at the first failure, 10 minutes are left')
  const until = new Date(clock() + 10 * 60_000).toISOString().slice(11, 16)
  t.match(locked.body, `Too many failed logins for this account from your address. Try again in 10 min (at ${until} UTC).`)
  t.match(locked.body, /value="ops"/, 'the form keeps the username')

  t.equal((await submitLogin(app, { username: 'viewer', password: 'viewer password 1', ip: '10.2.0.1' })).statusCode, 303, 'another account from the same address')
  t.equal((await submitLogin(app, { username: 'ops', password: 'operator password 1', ip: '10.2.0.2' })).statusCode, 303, 'the same account from another address')
  clock.advance(10 * 60_000)
  t.equal((await submitLogin(app, { username: 'ops', password: 'operator password 1', ip: '10.2.0.1' })).statusCode, 303, 'after the window')
})

t.test('a success clears only that account from that address', async (t) => {
  const app = await usersApp(t)
  for (let i = 0; i < 4; i++) await guess(app, 'ops', '10.3.0.1', i)
  for (let i = 0; i < 4; i++) await guess(app, 'ops', '10.3.0.2', i)
  for (let i = 0; i < 4; i++) await guess(app, 'viewer', '10.3.0.1', i)
  t.equal((await submitLogin(app, { username: 'ops', password: 'operator password 1', ip: '10.3.0.1' })).statusCode, 303)
  t.same([await guess(app, 'ops', '10.3.0.1'), await guess(app, 'ops', '10.3.0.1')], [401, 401], 'ops from .1 starts again')
  t.same([await guess(app, 'ops', '10.3.0.2'), await guess(app, 'ops', '10.3.0.2')], [401, 429], 'ops from .2 kept its count')
  t.same([await guess(app, 'viewer', '10.3.0.1'), await guess(app, 'viewer', '10.3.0.1')], [401, 429], 'viewer from .1 kept its count')
})

t.test('the per-address cap holds across accounts; successes neither raise nor lower it', async (t) => {
  const app = await usersApp(t)
  const ip = '10.4.0.1'
  // 4 guesses at each of 5 accounts: no account reaches its own limit of 5, the address reaches 20
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    t.equal((await submitLogin(app, { username: 'viewer', password: 'viewer password 1', ip })).statusCode, 303)
    for (let i = 0; i < 4; i++) t.equal(await guess(app, `user-${name}`, ip, i), 401)
  }
  const capped = await submitLogin(app, { username: 'ops', password: 'operator password 1', ip })
  t.equal(capped.statusCode, 429, 'a sixth account, right password, from this address')
  t.match(capped.body, 'Too many failed logins from your address.')
  t.equal((await submitLogin(app, { username: 'viewer', password: 'viewer password 1', ip })).statusCode, 429, 'the viewer too')
  t.equal((await submitLogin(app, { username: 'ops', password: 'operator password 1', ip: '10.4.0.2' })).statusCode, 303, 'another address')
})

t.test('unknown usernames are counted together, under the address', async (t) => {
  const app = await usersApp(t)
  const codes: number[] = []
  for (let i = 0; i < 6; i++) codes.push(await guess(app, `nobody-${i}`, '10.5.0.1'))
  t.same(codes, [401, 401, 401, 401, 401, 429], 'a new made-up name per guess is still the same account: none')
  t.equal((await submitLogin(app, { username: 'viewer', password: 'viewer password 1', ip: '10.5.0.1' })).statusCode, 303, 'real accounts are not locked by them')
})

t.test('two replicas on one Redis share the counts', async (t) => {
  const one = await usersApp(t)
  const two = await usersApp(t)
  const codes: number[] = []
  for (let i = 0; i < 6; i++) codes.push(await guess(i % 2 === 0 ? one : two, 'ops', '10.6.0.1', i))
  t.same(codes, [401, 401, 401, 401, 401, 429], 'five guesses in all, not five per replica')
})

t.test('with one shared password the account is the password: five failures lock an address', async (t) => {
  const app = await buildTestApp({ redisUrl: redisServer.url, password: 'the shared password' })
  t.teardown(() => app.close())
  const codes: number[] = []
  for (let i = 0; i < 6; i++) codes.push((await submitLogin(app, { password: `wrong ${i}`, ip: '10.7.0.1' })).statusCode)
  t.same(codes, [401, 401, 401, 401, 401, 429])
  const locked = await submitLogin(app, { password: 'the shared password', ip: '10.7.0.1' })
  t.match(locked.body, 'Too many failed logins from your address.')
})

t.test('when Redis does not answer, a login is refused with 503, not let through uncounted', async (t) => {
  const local = await startRedis()
  t.teardown(() => local.stop())
  const app = await buildTestApp({ redisUrl: local.url, usersFile })
  t.teardown(() => app.close())
  const form = await app.inject({ url: '/login' })
  t.equal(form.statusCode, 200)
  await local.kill()
  const refused = await submitLogin(app, { username: 'ops', password: 'operator password 1' })
  t.equal(refused.statusCode, 503)
  t.match(refused.body, /Redis is not answering/)
  t.notOk(
    refused.cookies.find((c) => c.name === 'zenith_session'),
    'no session',
  )
})
