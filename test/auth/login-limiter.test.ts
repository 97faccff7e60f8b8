import t from 'tap'
import { createLoginLimiter } from '../../server/auth/login-limiter.js'

/** a hand-moved clock; this file needs no app, so it does not import the app helper */
function fakeClock() {
  let now = Date.UTC(2026, 10, 23, 12)
  return Object.assign(() => now, { advance: (ms: number) => void (now += ms) })
}

t.test('stays bounded when many addresses fail', async (t) => {
  const clock = fakeClock()
  const limiter = createLoginLimiter({ clock, maxFailures: 2, maxEntries: 100 })
  for (let i = 0; i < 100; i++) {
    limiter.fail(`10.0.${i >> 8}.${i & 255}`)
    limiter.fail(`10.0.${i >> 8}.${i & 255}`)
  }
  t.ok(limiter.retryAfterMs('10.0.0.0') > 0, 'the first address is limited')
  // one more address: the oldest window is dropped to make room
  limiter.fail('192.168.0.1')
  t.equal(limiter.retryAfterMs('10.0.0.0'), 0, 'oldest dropped')
  t.ok(limiter.retryAfterMs('10.0.0.99') > 0, 'newest kept')
})

t.test('a success resets the count; the window is fixed from the first failure', async (t) => {
  const clock = fakeClock()
  const limiter = createLoginLimiter({ clock, maxFailures: 2, windowMs: 1000 })
  limiter.fail('a')
  limiter.reset('a')
  limiter.fail('a')
  t.equal(limiter.retryAfterMs('a'), 0)
  clock.advance(600)
  limiter.fail('a')
  t.equal(limiter.retryAfterMs('a'), 400)
  clock.advance(400)
  t.equal(limiter.retryAfterMs('a'), 0)
})
