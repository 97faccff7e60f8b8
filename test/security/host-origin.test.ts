/**
 * Host and Origin checks on a real listening console (the port a request arrived on is part of the
 * check, and only a real socket has one), with raw HTTP requests so every header is ours to set.
 */
import t, { type Test } from 'tap'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { allowedHosts } from '../../server/security/allowed-hosts.js'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock, type TestAppOptions } from '../helpers/app.js'
import { parseConfig } from '../../server/config.js'
import { cookieHeader, FORM, hiddenField } from '../auth/helpers.js'

const API_TOKEN = 'api-token-0123456789'
const PASSWORD = 'a long shared password'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One HTTP/1.1 request with exactly these headers (fetch would not let us set Host). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, setHost: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function listening(t: Test, options: Omit<TestAppOptions, 'redisUrl'> = {}): Promise<{ app: FastifyInstance; port: number }> {
  const app = await buildTestApp({ redisUrl: redisServer.url, ...options })
  t.teardown(() => app.close())
  await app.collector.refresh()
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, port: (app.server.address() as AddressInfo).port }
}

t.test('which hosts and origins are the console’s own', async (t) => {
  const open = allowedHosts(undefined)
  for (const host of ['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST:3000', '[::1]:3000', 'localhost:03000']) t.ok(open.allowsHost(host, 3000), host)
  for (const host of [
    'evil.test:3000',
    'evil.test',
    'localhost:3001',
    'localhost',
    '127.0.0.1',
    '127.0.0.2:3000',
    '0.0.0.0:3000',
    'localhost.:3000',
    'a.localhost:3000',
    'localhost:3000.evil.test',
    'localhost:3000@evil.test',
    'localhost:3000/x',
    ' localhost:3000',
    '[::2]:3000',
    '[::ffff:127.0.0.1]:3000',
    '',
    'localhost:99999999',
  ])
    t.notOk(open.allowsHost(host, 3000), JSON.stringify(host))
  t.notOk(open.allowsHost(undefined, 3000), 'no Host at all')
  t.ok(open.allowsHost('localhost:80', undefined), 'port unknown (in-process injection): any port')
  t.notOk(open.allowsHost('evil.test:80', undefined))
  t.ok(open.allowsHost('localhost', 80), 'no port is port 80')

  for (const origin of ['http://127.0.0.1:3000', 'http://localhost:3000', 'http://[::1]:3000', 'https://localhost:3000', 'http://localhost:3000/pulse?x=1']) t.ok(open.allowsOrigin(origin, 3000), origin)
  for (const origin of ['http://evil.test:3000', 'http://localhost:3001', 'http://localhost', 'null', '', 'file:///x', 'ftp://localhost:3000', 'http://127.0.0.1.evil.test:3000', 'http://localhost:3000@evil.test']) {
    t.notOk(open.allowsOrigin(origin, 3000), JSON.stringify(origin))
  }

  const served = allowedHosts('https://Zenith.Example.com')
  for (const host of ['zenith.example.com', 'zenith.example.com:443', 'ZENITH.example.com', 'localhost:3000']) t.ok(served.allowsHost(host, 3000), host)
  for (const host of ['zenith.example.com:80', 'zenith.example.com:8443', 'zenith.example.com.evil.test', 'evil.zenith.example.com', 'example.com']) t.notOk(served.allowsHost(host, 3000), host)
  t.ok(served.allowsOrigin('https://zenith.example.com', 3000))
  for (const origin of ['http://zenith.example.com', 'https://zenith.example.com:8443', 'https://evil.zenith.example.com']) t.notOk(served.allowsOrigin(origin, 3000), origin)

  const withPort = allowedHosts('http://10.0.0.5:8080')
  t.ok(withPort.allowsHost('10.0.0.5:8080', 3000))
  t.notOk(withPort.allowsHost('10.0.0.5', 3000))
  t.ok(withPort.allowsOrigin('http://10.0.0.5:8080', 3000))
  t.same(withPort.names, ['10.0.0.5:8080', 'localhost', '127.0.0.1', '[::1]'])
})

t.test('the public URL is an origin: http(s), no path, query or credentials', async (t) => {
  for (const publicUrl of ['https://zenith.example.com', 'http://10.0.0.5:8080', 'https://zenith.example.com/', 'http://[fd00::1]:3000']) t.doesNotThrow(() => parseConfig({ publicUrl }), publicUrl)
  for (const publicUrl of ['zenith.example.com', 'https://zenith.example.com/zenith', 'https://zenith.example.com/?a=1', 'https://u:p@zenith.example.com', 'ftp://zenith.example.com', 'javascript:alert(1)', '']) {
    t.throws(() => parseConfig({ publicUrl }), /publicUrl|must be an http/, JSON.stringify(publicUrl))
  }
})

t.test('an open loopback console: its own names on its own port; 421 for any other Host; probes answer any', async (t) => {
  const { port } = await listening(t)
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
    const answer = await send(port, 'GET', '/api/pulse/nodes', { host })
    t.equal(answer.status, 200, host)
  }
  for (const host of [`evil.test:${port}`, 'evil.test', `localhost:${port + 1}`, 'localhost', `127.0.0.1.nip.io:${port}`, `10.1.2.3:${port}`]) {
    const api = await send(port, 'GET', '/api/pulse/nodes', { host })
    t.equal(api.status, 421, `API, ${host}`)
    t.match(JSON.parse(api.body), { error: 'Misdirected Request', message: /ZENITH_PUBLIC_URL/ })
    t.notMatch(api.body, /"nodes"/, 'no data in the refusal')
    const page = await send(port, 'GET', '/pulse', { host })
    t.equal(page.status, 421, `page, ${host}`)
    t.equal(page.headers['cache-control'], 'no-store')
    t.match(page.headers['content-security-policy'], /default-src 'self'/, 'security headers on the refusal too')
  }
  // a probe by pod IP, or whatever the orchestrator uses
  t.equal((await send(port, 'GET', '/livez', { host: `10.1.2.3:${port}` })).status, 200)
  t.not((await send(port, 'GET', '/readyz', { host: 'pod-ip.internal' })).status, 421)
})

t.test('a write from a foreign Origin or Referer: 403 before auth, CSRF, media type or validation', async (t) => {
  const { port } = await listening(t, { apiToken: API_TOKEN, quasarToken: 'quasar-token-0123456789' })
  const host = `127.0.0.1:${port}`
  const foreign = [`http://evil.test:${port}`, `http://localhost:${port + 1}`, 'null', `https://127.0.0.1.evil.test:${port}`, 'http://localhost']

  for (const origin of foreign) {
    // every one of these would fail a later check too; the answer says it was the origin
    const cases: Array<[string, string, Record<string, string>, string]> = [
      ['POST', '/api/pulse/command', { 'content-type': 'text/plain' }, 'x'],
      ['POST', '/api/pulse/command', { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` }, '{"service":"billing","nodeId":"w","type":"RETRY_JOB","queue":"q","jobId":"1"}'],
      ['POST', '/commands/retry', { 'content-type': FORM }, 'service=billing'],
      ['POST', '/logout', { 'content-type': FORM }, ''],
      ['POST', '/login', { 'content-type': FORM }, 'password=x'],
      ['DELETE', '/api/pulse/queues', {}, ''],
    ]
    for (const [method, path, headers, body] of cases) {
      const viaOrigin = await send(port, method, path, { host, origin, ...headers }, body)
      t.equal(viaOrigin.status, 403, `${method} ${path} from ${origin}`)
      t.match(viaOrigin.body, /cross-site request refused/)
    }
    // without Origin, the Referer says where the form was
    if (origin !== 'null') {
      const viaReferer = await send(port, 'POST', '/commands/retry', { host, referer: `${origin}/attack.html`, 'content-type': FORM }, 'service=billing')
      t.equal(viaReferer.status, 403, `Referer ${origin}`)
      t.match(viaReferer.body, /cross-site request refused/)
    }
  }

  // the console's own origin (or no origin at all: scripts, curl) goes on to the usual checks
  const ownOrigins: Array<Record<string, string>> = [{ origin: `http://${host}` }, { origin: `http://localhost:${port}` }, { referer: `http://${host}/queues` }, {}]
  for (const headers of ownOrigins) {
    const csrf = await send(port, 'POST', '/commands/retry', { host, 'content-type': FORM, ...headers }, 'service=billing')
    t.equal(csrf.status, 403, JSON.stringify(headers))
    t.match(csrf.body, /CSRF token/, 'refused by the CSRF check, not the origin check')
    const media = await send(port, 'POST', '/api/pulse/command', { host, 'content-type': 'text/plain', authorization: `Bearer ${API_TOKEN}`, ...headers }, 'x')
    t.equal(media.status, 415, 'then the API media-type rule')
  }
  // a bearer-token client sends no Origin and is let through
  const token = await send(port, 'POST', '/api/pulse/command', { host, 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` }, '{}')
  t.equal(token.status, 400, 'the token client reaches validation')
  // reads carry an Origin on cross-origin fetches too; the Host check covers them, CORS keeps the answer from the page
  t.equal((await send(port, 'GET', '/api/pulse/nodes', { host, origin: 'http://evil.test', authorization: `Bearer ${API_TOKEN}` })).status, 200)
})

t.test('with a public URL: its host answers, its origin may write, the loopback names still work', async (t) => {
  const { app, port } = await listening(t, { password: PASSWORD, publicUrl: 'https://zenith.example.com' })
  t.equal((await send(port, 'GET', '/pulse', { host: 'zenith.example.com' })).status, 303, 'the public host reaches the login redirect')
  t.equal((await send(port, 'GET', '/pulse', { host: 'zenith.example.com:443' })).status, 303)
  t.equal((await send(port, 'GET', '/pulse', { host: `localhost:${port}` })).status, 303)
  for (const host of ['zenith.example.com:8443', 'evil.test', 'zenith.example.com.evil.test']) t.equal((await send(port, 'GET', '/pulse', { host })).status, 421, host)

  // a full login through the public name, the way the proxy forwards it
  const form = await app.inject({ url: '/login', headers: { host: 'zenith.example.com' } })
  const fields = new URLSearchParams({ _csrf: hiddenField(form.body, '_csrf'), password: PASSWORD }).toString()
  const login = (origin: string) => send(port, 'POST', '/login', { host: 'zenith.example.com', origin, 'content-type': FORM, cookie: cookieHeader(form, 'zenith_login') }, fields)
  t.equal((await login('http://zenith.example.com')).status, 403, 'plain http is another origin')
  const loggedIn = await login('https://zenith.example.com')
  t.equal(loggedIn.status, 303)
  t.equal(loggedIn.headers.location, '/')
})

t.test('in-process injection (no socket port): the loopback names answer, others get 421', async (t) => {
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/api/pulse/nodes' })).statusCode, 200, 'the default Host, localhost:80')
  t.equal((await app.inject({ url: '/api/pulse/nodes', headers: { host: 'evil.test' } })).statusCode, 421)
})

t.test('listening beyond loopback without a public URL: boot says which names are answered', async (t) => {
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, host: '0.0.0.0', password: PASSWORD, logLines })
  t.teardown(() => app.close())
  const warning = logLines.map((line) => JSON.parse(line) as { event?: string; msg: string; level: number }).find((line) => line.event === 'no_public_url')
  t.match(warning, { level: 40, msg: /only localhost, 127\.0\.0\.1, \[::1\] are answered; set ZENITH_PUBLIC_URL/ })

  const quiet: string[] = []
  const served = await buildTestApp({ redisUrl: redisServer.url, host: '0.0.0.0', password: PASSWORD, publicUrl: 'https://zenith.example.com', logLines: quiet })
  t.teardown(() => served.close())
  t.notOk(quiet.some((line) => line.includes('no_public_url')))
})

t.test('refusals are logged, at most once a minute, with a count', async (t) => {
  const logLines: string[] = []
  const { port } = await listening(t, { logLines, clock: fakeClock() })
  for (let i = 0; i < 20; i++) await send(port, 'GET', '/pulse', { host: `evil-${i}.test` })
  const refusals = logLines.filter((line) => line.includes('foreign_host'))
  t.equal(refusals.length, 1, 'one line for the burst')
  t.match(JSON.parse(refusals[0]!), { host: 'evil-0.test', refused: 1 })
})
