/**
 * Sessions in a real browser: two browsers logged in as the same user, "Log out all my sessions"
 * in one sends the other's next poll to the login page; a locked-out login says when to retry.
 */
import t from 'tap'
import { launchBrowser, listenLocally, openPage } from '../helpers/browser.js'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { writeUsersFile } from './helpers.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const usersFile = await writeUsersFile([
  { username: 'ops', password: 'operator password 1', role: 'operator' },
  { username: 'alice', password: 'alice password 1', role: 'viewer' },
])
const app = await buildTestApp({ redisUrl: redisServer.url, usersFile })
t.teardown(() => app.close())
await app.collector.refresh()
const base = await listenLocally(app)

const browser = await launchBrowser(t)

async function loggedIn(username: string, password: string) {
  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  await page.goto(`${base}/pulse`)
  await page.fill('input[name="username"]', username)
  await page.fill('input[name="password"]', password)
  await Promise.all([page.waitForURL(`${base}/pulse`), page.click('button[type="submit"]')])
  return { context, page }
}

t.test('"Log out all my sessions" on one device logs the other out at its next poll', async (t) => {
  const laptop = await loggedIn('alice', 'alice password 1')
  const phone = await loggedIn('alice', 'alice password 1')
  const other = await loggedIn('ops', 'operator password 1')

  await Promise.all([laptop.page.waitForURL(`${base}/account`), laptop.page.click('a.session-user')])
  t.equal(await laptop.page.textContent('.account-sessions'), '2')
  t.equal(await laptop.page.locator('#end-all-sessions').count(), 0, 'a viewer is not offered to log everyone out')
  await Promise.all([laptop.page.waitForURL(/\/login$/), laptop.page.click('#end-my-sessions')])
  t.notOk(
    (await laptop.context.cookies()).some((c) => c.name === 'zenith_session' && c.value !== ''),
    'this browser dropped its cookie',
  )

  // the phone still shows /pulse; its next poll finds the session gone and goes to the login form
  await phone.page.waitForURL(/\/login\?next=%2Fpulse/)
  t.pass("the other device's poll turned into the login form")

  await other.page.reload()
  t.equal(new URL(other.page.url()).pathname, '/pulse', "another user's session is untouched")
  t.equal(await other.page.textContent('.session-user'), 'ops')
})

t.test('an operator logs everyone out from the account page', async (t) => {
  const viewer = await loggedIn('alice', 'alice password 1')
  const ops = await loggedIn('ops', 'operator password 1')
  await ops.page.goto(`${base}/account`)
  await Promise.all([ops.page.waitForURL(/\/login$/), ops.page.click('#end-all-sessions')])
  await viewer.page.waitForURL(/\/login\?next=%2Fpulse/)
  t.pass("the viewer's poll turned into the login form")
})

t.test('a locked-out account is told when to try again', async (t) => {
  const page = await openPage(t, browser)
  await page.goto(`${base}/login`)
  for (let i = 0; i < 6; i++) {
    await page.fill('input[name="username"]', 'ops')
    await page.fill('input[name="password"]', `guess ${i}`)
    await Promise.all([page.waitForURL(/\/login/), page.click('button[type="submit"]')])
  }
  t.match(await page.textContent('.login-error'), /Too many failed logins for this account from your address\. Try again in 15 min \(at \d\d:\d\d UTC\)\./)
  t.equal(await page.inputValue('input[name="username"]'), 'ops')
})
