/**
 * DNS rebinding in a real browser. Chromium resolves `evil.test` and `other.test` to 127.0.0.1
 * (`--host-resolver-rules`), the way a rebinding attacker's DNS answers once its page is loaded.
 * The attacker's page itself is served by Playwright (as if from the attacker's server); every
 * request it then makes goes over the network to the console. The open console (the `npm start`
 * default) must neither let that page read the API nor let it write, whether by fetch or a form.
 * Without the Host check the same page read every API answer and sent the delete (planted: the
 * reads answered 200 with the console's data).
 */
import t from 'tap'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { launchBrowser, openPage } from '../helpers/browser.js'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const app = await buildTestApp({ redisUrl: redisServer.url, quasarToken: 'quasar-token-0123456789' })
t.teardown(() => app.close())
await app.collector.refresh()
await app.listen({ port: 0, host: '127.0.0.1' })
const port = (app.server.address() as AddressInfo).port
const console_ = `http://127.0.0.1:${port}`

// Chromium 156 blocks a page it fetched from no address (the routed attack page counts as public)
// from reaching loopback (Local Network Access); Firefox, Safari and older Chromes do not, and a
// user may allow it. Those checks are turned off here so the test is about the console's own.
const browser = await launchBrowser(t, [
  '--host-resolver-rules=MAP evil.test 127.0.0.1, MAP other.test 127.0.0.1',
  '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults',
])

const ATTACK_PAGE = '<!doctype html><title>cute cats</title><p>nothing to see</p>'

/** Opens a page "served by the attacker" at `origin`; its later requests go to the network. */
async function attackerPage(origin: string): Promise<Page> {
  const page = await openPage(t, browser)
  await page.route(`${origin}/attack.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: ATTACK_PAGE }))
  await page.goto(`${origin}/attack.html`)
  return page
}

/** What a script on the page gets from a same-origin fetch. */
function fetchFromPage(page: Page, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return page.evaluate(
    async ({ path, init }) => {
      try {
        const response = await fetch(path, init)
        return { status: response.status, body: await response.text() }
      } catch (error) {
        return { status: 0, body: String(error) }
      }
    },
    { path, init },
  )
}

const COMMAND = JSON.stringify({ service: 'billing', nodeId: 'worker-1', type: 'DELETE_JOB', queue: 'emails', jobId: '1' })

t.test('the console itself, at its own address, reads and writes (the control)', async (t) => {
  const page = await openPage(t, browser)
  await page.goto(`${console_}/pulse`)
  const read = await fetchFromPage(page, '/api/pulse/nodes')
  t.equal(read.status, 200)
  t.match(read.body, /"services"/)
  const write = await fetchFromPage(page, '/api/pulse/command', { method: 'POST', headers: { 'content-type': 'application/json' }, body: COMMAND })
  t.not(write.status, 421)
  t.not(write.status, 403, 'a same-origin write goes on to validation')
})

t.test('a rebound page on evil.test:<port> can neither read the API nor write', async (t) => {
  // same name, same port: to the browser this is the attacker's own origin, so no CORS stands in the way
  const page = await attackerPage(`http://evil.test:${port}`)
  for (const path of ['/api/pulse/nodes', '/api/pulse/queues', '/api/pulse/audit', '/pulse', '/fragments/pulse/nodes', '/queues']) {
    const read = await fetchFromPage(page, path)
    t.equal(read.status, 421, `GET ${path}`)
    t.notMatch(read.body, /"services"|"queues"|<article|<table|<main/, 'nothing of the console in the answer')
  }
  const write = await fetchFromPage(page, '/api/pulse/command', { method: 'POST', headers: { 'content-type': 'application/json' }, body: COMMAND })
  t.equal(write.status, 421, 'the JSON API write')

  // the form the delete button posts, submitted by the page
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/commands/delete')),
    page.evaluate(() => {
      const form = document.createElement('form')
      form.method = 'POST'
      form.action = '/commands/delete'
      for (const [name, value] of Object.entries({ service: 'billing', queue: 'emails', jobId: '1' })) {
        const input = document.createElement('input')
        input.name = name
        input.value = value
        form.append(input)
      }
      document.body.append(form)
      form.submit()
    }),
  ])
  t.equal(response.status(), 421, 'the form post')
  const audit = await app.inject({ url: '/api/pulse/audit' })
  t.notMatch(audit.body, /DELETE_JOB/, 'no command was sent')
})

t.test('a page of another site posting a form at the console: 403, whatever its Host', async (t) => {
  const page = await attackerPage('http://other.test:9')
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(console_)),
    page.evaluate((target) => {
      const form = document.createElement('form')
      form.method = 'POST'
      form.action = `${target}/api/pulse/command`
      form.enctype = 'text/plain'
      const input = document.createElement('input')
      input.name = '{"service":"billing","nodeId":"worker-1","type":"DELETE_JOB","queue":"emails","jobId":"1","x":"'
      input.value = '"}'
      form.append(input)
      document.body.append(form)
      form.submit()
    }, console_),
  ])
  t.equal(response.status(), 403)
  t.match(await response.text(), /cross-site request refused/)
  t.equal(response.request().headers().origin, 'http://other.test:9', 'the browser said where the form came from')
})
