/**
 * Login, polling and logout in a real browser: the redirect to the form and back, htmx sending
 * the CSRF header it inherits from <body>, an expired session turning the next poll into a
 * redirect to the login page, and the logout form.
 */
import t from 'tap'
import { launchBrowser, listenLocally } from '../helpers/browser.js'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'

const PASSWORD = 'browser password'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const app = await buildTestApp({ redisUrl: redisServer.url, password: PASSWORD })
t.teardown(() => app.close())
await app.collector.refresh()
const base = await listenLocally(app)

const browser = await launchBrowser(t)

t.test('log in, poll with the CSRF header, get sent back to login when the session is gone, log out', async (t) => {
  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()

  await page.goto(`${base}/pulse`)
  t.equal(new URL(page.url()).pathname, '/login')
  t.equal(new URL(page.url()).searchParams.get('next'), '/pulse')

  await page.fill('input[name="password"]', 'not it')
  await Promise.all([page.waitForURL(/\/login/), page.click('button[type="submit"]')])
  t.match(await page.textContent('.login-error'), /Wrong password/)

  await page.fill('input[name="password"]', PASSWORD)
  await Promise.all([page.waitForURL(`${base}/pulse`), page.click('button[type="submit"]')])
  t.equal(await page.textContent('.session-user'), 'admin')

  const cookies = await context.cookies()
  const session = cookies.find((c) => c.name === 'zenith_session')!
  t.equal(session.httpOnly, true)
  t.equal(session.sameSite, 'Lax')
  t.equal(await page.evaluate(() => document.cookie.includes('zenith_session')), false, 'scripts cannot read the session')

  const headers = JSON.parse((await page.getAttribute('body', 'hx-headers:inherited'))!) as Record<string, string>
  const poll = await page.waitForRequest((request) => request.url().includes('/fragments/pulse/nodes'))
  t.equal(poll.headers()['x-csrf-token'], headers['X-CSRF-Token'], 'htmx sends the inherited CSRF header')

  // the session disappears (expired, or logged out elsewhere): the next poll lands on the login page
  await context.clearCookies()
  await page.waitForURL(/\/login\?next=%2Fpulse/)
  t.pass('the poll turned into a redirect to the login form')

  await page.fill('input[name="password"]', PASSWORD)
  await Promise.all([page.waitForURL(`${base}/pulse`), page.click('button[type="submit"]')])
  await Promise.all([page.waitForURL(`${base}/login`), page.click('form.session button[type="submit"]')])
  t.notOk(
    (await context.cookies()).some((c) => c.name === 'zenith_session'),
    'logout cleared the cookie',
  )
  await page.goto(`${base}/pulse`)
  t.equal(new URL(page.url()).pathname, '/login')
})
