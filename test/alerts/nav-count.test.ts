/**
 * The navigation's firing-alert count: absent while nothing fires, the number of firing alerts on
 * every page once some fire (and in the polled fragment, with the same markup and 304s), gone again
 * once they resolve; never shown to a viewer who is not logged in.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { rulesDir, tick, writeBeats } from './fixtures.js'
import { cookieHeader, submitLogin } from '../auth/helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

const PAGES = ['/pulse', '/queues', '/slow', '/problems', '/alerts', '/audit', '/pulse/billing/web-1']

/** the Alerts link in the navigation, with what it holds */
function alertsLink(html: string): string {
  const match = /<li><a href="\/alerts"[^>]*>Alerts<\/a>[\s\S]*?<\/li>/.exec(html)
  if (!match) throw new Error('no Alerts link in the navigation')
  return match[0]
}

const shownCount = (html: string) => /<span class="nav-count" title="(\d+) firing">/.exec(alertsLink(html))?.[1] ?? null

t.test('the count follows the firing alerts on every page and in its fragment', async (t) => {
  await redis.flushall()
  const rules = files.write('nav.json', { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, channels: [] }] })
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rules })
  t.teardown(() => app.close())
  const nodes = ['web-1', 'web-2', 'web-3', 'web-10'].map((nodeId) => ({ service: 'billing', nodeId }))

  await writeBeats(
    redis,
    clock(),
    nodes.map((n) => ({ ...n, cpu: 20 })),
  )
  await tick(app)
  await tick(app)
  for (const url of PAGES) {
    const page = await app.inject(url)
    t.equal(page.statusCode, 200, url)
    t.equal(shownCount(page.body), null, `${url}: no count while nothing fires`)
    t.match(alertsLink(page.body), 'hx-get="/alerts/fragments/nav-count"', `${url}: the count is polled`)
  }

  // three of four nodes run hot
  clock.advance(2_000)
  await writeBeats(
    redis,
    clock(),
    nodes.map((n) => ({ ...n, cpu: n.nodeId === 'web-2' ? 20 : 97 })),
  )
  await tick(app)
  await tick(app)
  for (const url of PAGES) t.equal(shownCount((await app.inject(url)).body), '3', `${url}: three firing`)
  const fragment = await app.inject('/alerts/fragments/nav-count')
  t.equal(fragment.statusCode, 200)
  t.match(alertsLink((await app.inject('/queues')).body), fragment.body.trim(), 'the fragment is the markup the layout includes')
  t.equal((await app.inject({ url: '/alerts/fragments/nav-count', headers: { 'if-none-match': fragment.headers.etag as string } })).statusCode, 304)

  // one cools down: two left; then all: none
  clock.advance(2_000)
  await writeBeats(
    redis,
    clock(),
    nodes.map((n) => ({ ...n, cpu: n.nodeId === 'web-1' ? 20 : n.nodeId === 'web-2' ? 20 : 97 })),
  )
  await tick(app)
  await tick(app)
  t.equal(shownCount((await app.inject('/pulse')).body), '2')
  t.match((await app.inject('/alerts/fragments/nav-count')).body, 'title="2 firing"')
  clock.advance(2_000)
  await writeBeats(
    redis,
    clock(),
    nodes.map((n) => ({ ...n, cpu: 20 })),
  )
  await tick(app)
  await tick(app)
  t.equal(shownCount((await app.inject('/alerts')).body), null, 'all resolved: no count')
  t.notMatch((await app.inject('/alerts/fragments/nav-count')).body, 'class="nav-count"', 'the fragment holds no count either')
})

t.test('a console with a login shows the count only once logged in', async (t) => {
  await redis.flushall()
  const PASSWORD = 'correct horse battery staple 42'
  const rules = files.write('nav-login.json', { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, channels: [] }] })
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rules, password: PASSWORD })
  t.teardown(() => app.close())
  await writeBeats(redis, clock(), [{ service: 'billing', nodeId: 'web-1', cpu: 97 }])
  await tick(app)
  await tick(app)
  const login = await app.inject('/login')
  t.equal(login.statusCode, 200)
  t.notMatch(login.body, /nav-count|nav-alerts-count/, 'the login page shows no count and polls nothing')
  t.equal((await app.inject('/alerts/fragments/nav-count')).statusCode, 303, 'the fragment asks for a login like any page')
  const session = cookieHeader(await submitLogin(app, { password: PASSWORD }), 'zenith_session')
  t.equal(shownCount((await app.inject({ url: '/pulse', headers: { cookie: session } })).body), '1')
})
