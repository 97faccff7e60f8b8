/**
 * Sessions and login limits across three replicas, on one Redis and on a 3-master Cluster: a
 * cookie made on one replica works on the others and on one started later, its CSRF token too;
 * a logout on one ends it on all; a replica with another session secret refuses it; and failed
 * logins are counted once across all of them.
 */
import t, { type Test } from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { buildTestApp, type TestAppOptions } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { FORM, login, probeRoutes, submitLogin, writeUsersFile } from '../auth/helpers.js'

const SECRET = 'replicas share this secret, forty chars!'
const usersFile = await writeUsersFile([
  { username: 'ops', password: 'operator password 1', role: 'operator' },
  { username: 'alice', password: 'alice password 1', role: 'viewer' },
])

type App = Awaited<ReturnType<typeof buildTestApp>>
const status = async (app: App, cookie: string) => (await app.inject({ url: '/test/locals', headers: { cookie } })).statusCode
const post = (app: App, url: string, cookie: string, csrf: string) => app.inject({ method: 'POST', url, headers: { cookie, 'content-type': FORM }, payload: `_csrf=${encodeURIComponent(csrf)}` })

const setups = [
  {
    name: 'one Redis',
    start: async () => {
      const server = await startRedis()
      return { options: { redisUrl: server.url }, stop: () => server.stop() }
    },
  },
  {
    name: 'a 3-master Cluster',
    start: async () => {
      const cluster = await startRedisCluster(3)
      return { options: { redisUrl: cluster.url, redisCluster: true }, stop: () => cluster.stop() }
    },
  },
]

for (const setup of setups) {
  t.test(setup.name, async (t) => {
    const { options, stop } = await setup.start()
    t.teardown(stop)
    const replica = async (t: Test, extra: Partial<TestAppOptions> = {}) => {
      const app = await buildTestApp({ ...options, usersFile, sessionSecret: SECRET, routes: probeRoutes, ...extra })
      t.teardown(() => app.close())
      // as a balancer does: no request before the replica says it is ready
      await eventually(async () => {
        await app.collector.refresh()
        return (await app.inject({ url: '/readyz' })).statusCode === 200
      }, 'the replica is ready')
      return app
    }

    await t.test('log in on one, use it on the others, log out on one: all refuse it', async (t) => {
      const [a, b, c] = [await replica(t), await replica(t), await replica(t)]
      const { cookie, csrf } = await login(a, { username: 'ops', password: 'operator password 1' })
      t.same([await status(a, cookie), await status(b, cookie), await status(c, cookie)], [200, 200, 200], 'every replica knows the session')
      const acted = await post(c, '/test/act', cookie, csrf)
      t.equal(acted.statusCode, 200, 'the CSRF token made on one replica is accepted by another')
      t.equal(acted.json().by, 'ops')
      const later = await replica(t)
      t.equal(await status(later, cookie), 200, 'a replica started after the login knows it too')
      const stranger = await replica(t, { sessionSecret: 'another secret, also forty characters long' })
      t.equal(await status(stranger, cookie), 303, 'a replica with another session secret refuses the cookie')
      t.equal((await post(b, '/logout', cookie, csrf)).statusCode, 303)
      t.same([await status(a, cookie), await status(c, cookie), await status(later, cookie)], [303, 303, 303], 'logged out on every replica')
      t.equal((await post(a, '/test/act', cookie, csrf)).statusCode, 303, 'the old cookie and token act nowhere')
    })

    await t.test('failed logins are counted once across three replicas', async (t) => {
      const apps = [await replica(t), await replica(t), await replica(t)]
      const codes: number[] = []
      for (let i = 0; i < 7; i++) codes.push((await submitLogin(apps[(i * 2) % 3]!, { username: 'alice', password: `guess ${i}`, ip: '10.7.0.1' })).statusCode)
      t.same(codes, [401, 401, 401, 401, 401, 429, 429], 'five guesses in all, not five per replica')
      const right = await submitLogin(apps[1]!, { username: 'alice', password: 'alice password 1', ip: '10.7.0.1' })
      t.equal(right.statusCode, 429, 'locked on every replica, even with the right password')
      const elsewhere = await submitLogin(apps[2]!, { username: 'alice', password: 'alice password 1', ip: '10.7.0.2' })
      t.equal(elsewhere.statusCode, 303, 'another address is not locked')
    })
  })
}
