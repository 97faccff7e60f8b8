/**
 * `--trust-proxy` on a real listening server (server.ts builds Fastify with it): behind a trusted
 * proxy, clients are told apart by X-Forwarded-For and https by X-Forwarded-Proto; without it, or
 * from a peer that is not a trusted proxy, both headers are ignored.
 */
import t, { type Test } from 'tap'
import { createServer } from '../../server/server.js'
import { parseConfig, type ZenithConfigInput } from '../../server/config.js'
import { useRedis } from '../helpers/redis-server.js'

const { server: redisServer, redis: admin } = await useRedis(t)
t.beforeEach(async () => void (await admin.flushdb()))

const PASSWORD = 'proxied console password'

async function serve(t: Test, extra: Partial<ZenithConfigInput> = {}): Promise<string> {
  const config = parseConfig({ redisUrl: redisServer.url, port: 0, host: '127.0.0.1', password: PASSWORD, selfMonitor: false, logLevel: 'silent', ...extra })
  const server = await createServer(config, { logStream: { write: () => {} } })
  t.teardown(() => server.close())
  return server.url
}

/** What a browser behind the proxy does: fetch the form, post it back; the proxy adds `headers`. */
async function login(base: string, password: string, headers: Record<string, string>) {
  const form = await fetch(`${base}/login`, { headers })
  const loginCookie = form.headers
    .getSetCookie()
    .find((c) => c.startsWith('zenith_login='))!
    .split(';')[0]!
  const csrf = /name="_csrf" value="([^"]*)"/.exec(await form.text())![1]!
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, password }).toString(),
  })
  await response.arrayBuffer()
  const session = response.headers.getSetCookie().find((c) => c.startsWith('zenith_session='))
  return { status: response.status, session, retryAfter: response.headers.get('retry-after') }
}

async function failFiveTimes(base: string, headers: Record<string, string>) {
  for (let i = 0; i < 5; i++) {
    const { status } = await login(base, `wrong ${i}`, headers)
    if (status !== 401) throw new Error(`guess ${i} answered ${status}`)
  }
}

for (const [form, trustProxy] of [
  ['an address list', ['127.0.0.1']],
  ['a CIDR range', ['127.0.0.0/8', '10.0.0.0/8']],
  ['a hop count', 1],
] as const) {
  t.test(`trusted through ${form}: clients are limited apart, and https makes the cookie Secure`, async (t) => {
    const base = await serve(t, { trustProxy: typeof trustProxy === 'number' ? trustProxy : [...trustProxy] })
    await failFiveTimes(base, { 'x-forwarded-for': '203.0.113.1' })
    const locked = await login(base, PASSWORD, { 'x-forwarded-for': '203.0.113.1' })
    t.equal(locked.status, 429, 'the guessing client is locked out')
    t.ok(Number(locked.retryAfter) > 0, 'with Retry-After')
    const spoofing = await login(base, PASSWORD, { 'x-forwarded-for': '198.51.100.7, 203.0.113.1' })
    t.equal(spoofing.status, 429, 'an address the client wrote itself, before the one the proxy added, changes nothing')

    const other = await login(base, PASSWORD, { 'x-forwarded-for': '203.0.113.2', 'x-forwarded-proto': 'https' })
    t.equal(other.status, 303, 'another client behind the same proxy logs in')
    t.match(other.session, /; Secure/i, 'Secure: the browser reached the proxy over https')

    const plain = await login(base, PASSWORD, { 'x-forwarded-for': '203.0.113.3', 'x-forwarded-proto': 'http' })
    t.notMatch(plain.session, /; Secure/i, 'not Secure when the proxy says http')
  })
}

t.test('untrusted (the default): X-Forwarded-For and -Proto are ignored', async (t) => {
  const base = await serve(t)
  await failFiveTimes(base, { 'x-forwarded-for': '203.0.113.1' })
  const other = await login(base, PASSWORD, { 'x-forwarded-for': '203.0.113.2', 'x-forwarded-proto': 'https' })
  t.equal(other.status, 429, 'a made-up address does not escape the limit of the real one')

  await admin.flushdb()
  const fresh = await login(base, PASSWORD, { 'x-forwarded-proto': 'https' })
  t.equal(fresh.status, 303)
  t.notMatch(fresh.session, /; Secure/i, 'a client cannot claim https')
})

t.test('a peer outside the trusted list is not believed either', async (t) => {
  const base = await serve(t, { trustProxy: ['10.0.0.0/8'] })
  await failFiveTimes(base, { 'x-forwarded-for': '203.0.113.1' })
  t.equal((await login(base, PASSWORD, { 'x-forwarded-for': '203.0.113.2' })).status, 429)
  await admin.flushdb()
  t.notMatch((await login(base, PASSWORD, { 'x-forwarded-proto': 'https' })).session, /; Secure/i)
})
