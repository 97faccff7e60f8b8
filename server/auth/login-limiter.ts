/**
 * Failed logins, counted in Redis per account and address, and per address over all accounts,
 * each in a fixed window that starts at its first failure.
 *
 * - An account locks from one address after `perAccount` failures there; a success clears that
 *   account's count from that address, and only that one.
 * - An address locks after `perAddress` failures over all accounts. A success does not clear it
 *   (it only takes back its own attempt), so someone who can log in as themselves gains no
 *   guesses at another account by doing so between guesses.
 *
 * In Redis, not process memory: since sessions are kept there, a login cannot happen without
 * Redis anyway, and replicas behind one load balancer then share one count instead of each
 * granting its own five guesses. An attempt is counted before the password is checked, by one
 * script, so a burst of parallel attempts cannot all get past the limit. Times come from the
 * console's clock; the keys' TTL only collects windows nobody asks about again.
 */
import type { RedisClient } from '../redis/client.js'
import type { Clock } from '../clock.js'
import type { ConsoleKeys } from '../redis/keys.js'

export interface LoginLimits {
  /** failures of one account from one address per window */
  perAccount: number
  /** failures from one address per window, all accounts together */
  perAddress: number
  windowMs: number
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perAccount: 5, perAddress: 20, windowMs: 15 * 60_000 }

export type Attempt = { ok: true } | { ok: false; retryAfterMs: number; locked: 'account' | 'address' }

export interface LoginLimiter {
  /** Counts one attempt before its password is checked, or refuses it (and counts nothing). */
  attempt(account: string, address: string): Promise<Attempt>
  /** The attempt succeeded: that account's failures from that address are forgotten. */
  succeeded(account: string, address: string): Promise<void>
}

// KEYS[1] account+address window, KEYS[2] address window; ARGV now, windowMs, perAccount, perAddress.
// Replies {0, 0} when counted, {wait ms, 1 or 2} naming the window that is full (nothing counted).
const ATTEMPT_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait, full = 0, 0
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'failures', 'resetAt')
  local failures, resetAt = tonumber(state[1]) or 0, tonumber(state[2]) or 0
  if resetAt > now and failures >= tonumber(ARGV[2 + i]) and resetAt - now > wait then
    wait, full = resetAt - now, i
  end
end
if full > 0 then return {wait, full} end
for _, key in ipairs(KEYS) do
  local resetAt = tonumber(redis.call('HGET', key, 'resetAt')) or 0
  if resetAt > now then
    redis.call('HINCRBY', key, 'failures', 1)
  else
    redis.call('HSET', key, 'failures', 1, 'resetAt', string.format('%d', now + window))
    redis.call('PEXPIRE', key, window)
  end
end
return {0, 0}
`

// KEYS[1] account+address window (deleted), KEYS[2] address window (this attempt taken back); ARGV now
const SUCCEEDED_SCRIPT = `
redis.call('DEL', KEYS[1])
local state = redis.call('HMGET', KEYS[2], 'failures', 'resetAt')
if (tonumber(state[2]) or 0) > tonumber(ARGV[1]) and (tonumber(state[1]) or 0) > 0 then
  redis.call('HINCRBY', KEYS[2], 'failures', -1)
end
return 1
`

type LimiterCommands = {
  zenithLoginAttempt(accountKey: string, addressKey: string, ...args: (string | number)[]): Promise<[number, number]>
  zenithLoginSucceeded(accountKey: string, addressKey: string, now: number): Promise<number>
}

export function createLoginLimiter(redis: RedisClient, keys: ConsoleKeys, clock: Clock, limits: LoginLimits = DEFAULT_LOGIN_LIMITS): LoginLimiter {
  // ioredis sends EVAL once per connection, then EVALSHA, and reloads after a NOSCRIPT
  redis.defineCommand('zenithLoginAttempt', { numberOfKeys: 2, lua: ATTEMPT_SCRIPT })
  redis.defineCommand('zenithLoginSucceeded', { numberOfKeys: 2, lua: SUCCEEDED_SCRIPT })
  const commands = redis as unknown as LimiterCommands

  return {
    async attempt(account, address) {
      const [wait, full] = await commands.zenithLoginAttempt(keys.authLoginFailures(address, account), keys.authLoginFailures(address), clock(), limits.windowMs, limits.perAccount, limits.perAddress)
      return full === 0 ? { ok: true } : { ok: false, retryAfterMs: Number(wait), locked: full === 1 ? 'account' : 'address' }
    },
    async succeeded(account, address) {
      await commands.zenithLoginSucceeded(keys.authLoginFailures(address, account), keys.authLoginFailures(address), clock())
    },
  }
}
