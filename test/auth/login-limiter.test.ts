/**
 * The limiter on its own, against a real Redis: its windows, its two counts and what a success
 * clears. Login-level behaviour (429 pages, Retry-After, replicas) is in login-limits.test.ts.
 */
import t from 'tap'
import { createLoginLimiter, type LoginLimits } from '../../server/auth/login-limiter.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { useRedis } from '../helpers/redis-server.js'

const { redis } = await useRedis(t)

/** a hand-moved clock; this file needs no app, so it does not import the app helper */
function fakeClock() {
  let now = Date.UTC(2026, 10, 23, 12)
  return Object.assign(() => now, { advance: (ms: number) => void (now += ms) })
}

let prefixes = 0
function limiterFor(limits: LoginLimits) {
  const clock = fakeClock()
  // a prefix per test: counts of one test never leak into another
  const keys = createConsoleKeys(`limiter-test-${++prefixes}:`)
  return { clock, keys, limiter: createLoginLimiter(redis, keys, clock, limits) }
}

t.test('an account locks from one address after its limit; the window is fixed from the first failure', async (t) => {
  const { clock, limiter } = limiterFor({ perAccount: 2, perAddress: 100, windowMs: 1000 })
  t.same(await limiter.attempt('alice', '10.0.0.1'), { ok: true })
  clock.advance(600)
  t.same(await limiter.attempt('alice', '10.0.0.1'), { ok: true })
  t.same(await limiter.attempt('alice', '10.0.0.1'), { ok: false, retryAfterMs: 400, locked: 'account' })
  t.same(await limiter.attempt('alice', '10.0.0.2'), { ok: true }, 'another address')
  t.same(await limiter.attempt('bob', '10.0.0.1'), { ok: true }, 'another account')
  clock.advance(400)
  t.same(await limiter.attempt('alice', '10.0.0.1'), { ok: true }, 'the window ended')
})

t.test('a refused attempt counts nothing, so waiting out the window is enough', async (t) => {
  const { clock, limiter } = limiterFor({ perAccount: 1, perAddress: 100, windowMs: 1000 })
  await limiter.attempt('alice', '10.0.0.1')
  for (let i = 0; i < 5; i++) t.equal((await limiter.attempt('alice', '10.0.0.1')).ok, false)
  clock.advance(1000)
  t.same(await limiter.attempt('alice', '10.0.0.1'), { ok: true })
})

t.test('a success clears only that account from that address', async (t) => {
  const { limiter } = limiterFor({ perAccount: 3, perAddress: 100, windowMs: 60_000 })
  for (const [account, address] of [
    ['alice', 'a'],
    ['alice', 'a'],
    ['alice', 'b'],
    ['alice', 'b'],
    ['bob', 'a'],
    ['bob', 'a'],
  ] as const) {
    await limiter.attempt(account, address)
  }
  await limiter.attempt('alice', 'a')
  await limiter.succeeded('alice', 'a')
  t.same(await limiter.attempt('alice', 'a'), { ok: true }, 'alice from a starts again')
  t.same(await limiter.attempt('alice', 'a'), { ok: true })
  t.same(await limiter.attempt('alice', 'b'), { ok: true }, 'alice from b: third failure allowed')
  t.equal((await limiter.attempt('alice', 'b')).ok, false, 'alice from b is still counted')
  t.same(await limiter.attempt('bob', 'a'), { ok: true })
  t.equal((await limiter.attempt('bob', 'a')).ok, false, 'bob from a is still counted')
})

t.test('the address cap holds across accounts, and a success does not lower it', async (t) => {
  const { limiter } = limiterFor({ perAccount: 5, perAddress: 6, windowMs: 60_000 })
  // guesses at three accounts, a success of a fourth in between
  for (const account of ['alice', 'bob', 'carol']) {
    t.same(await limiter.attempt('viewer', 'a'), { ok: true })
    await limiter.succeeded('viewer', 'a')
    await limiter.attempt(account, 'a')
    await limiter.attempt(account, 'a')
  }
  const refused = await limiter.attempt('dave', 'a')
  t.equal(refused.ok, false)
  t.equal(!refused.ok && refused.locked, 'address')
  t.equal((await limiter.attempt('viewer', 'a')).ok, false, 'even the account that just succeeded')
  t.same(await limiter.attempt('dave', 'b'), { ok: true }, 'other addresses are not affected')
})

t.test('a success takes back only its own attempt from the address count', async (t) => {
  const { limiter } = limiterFor({ perAccount: 100, perAddress: 3, windowMs: 60_000 })
  // many successful logins from one office address never add up to a lock-out
  for (let i = 0; i < 10; i++) {
    t.same(await limiter.attempt(`user-${i}`, 'office'), { ok: true })
    await limiter.succeeded(`user-${i}`, 'office')
  }
  await limiter.succeeded('nobody', 'office')
  await limiter.succeeded('nobody', 'office')
  for (let i = 0; i < 3; i++) t.same(await limiter.attempt('mallory', 'office'), { ok: true }, 'successes do not bank credit')
  t.equal((await limiter.attempt('mallory', 'office')).ok, false)
})

t.test('keys expire: Redis never holds a window past its end', async (t) => {
  const { keys, limiter } = limiterFor({ perAccount: 5, perAddress: 20, windowMs: 60_000 })
  await limiter.attempt('alice', '10.9.9.9')
  for (const key of [keys.authLoginFailures('10.9.9.9', 'alice'), keys.authLoginFailures('10.9.9.9')]) {
    const ttl = await redis.pttl(key)
    t.ok(ttl > 0 && ttl <= 60_000, `${key} expires (${ttl} ms)`)
  }
})

t.test('IPv6 addresses and every username character stay within their own keys', async (t) => {
  const { limiter } = limiterFor({ perAccount: 1, perAddress: 100, windowMs: 60_000 })
  const accounts = ['a.b', 'a_b', 'a@b', 'a-b', '?']
  const addresses = ['::1', '2001:db8::1', '::ffff:127.0.0.1', '127.0.0.1']
  for (const address of addresses) for (const account of accounts) t.same(await limiter.attempt(account, address), { ok: true }, `${account} from ${address}`)
  for (const address of addresses) for (const account of accounts) t.equal((await limiter.attempt(account, address)).ok, false, `${account} from ${address} counted once`)
})
