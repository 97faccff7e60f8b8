/**
 * The history writer lease. Every replica records the same series from its own ticks, and the
 * rollup script already makes a second write of a bucket a no-op (HSETNX); the lease spares the
 * other replicas those writes: one replica holds it and writes, the others only keep their
 * in-memory samples, ready to take over. It is an optimisation, never what correctness rests on:
 * two replicas that both believe they hold it (a paused process, clocks apart) write the same
 * buckets, and the rollup script keeps one of each.
 *
 * The value is `{replica}|{until}`, `until` in the console clock (epoch ms), so a lease ends when
 * the consoles' clocks say so; `PX` removes a lease whose holder is gone for good.
 *
 * KEYS[1] the lease. Claim: ARGV replica, now, lease ms; replies 1 when this replica holds it now
 * (kept or taken), 0 when another does. Release: ARGV replica; deletes only its own lease.
 */
export const CLAIM_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if held then
  local sep = string.find(held, '|', 1, true)
  local holder = sep and string.sub(held, 1, sep - 1)
  local untilMs = sep and tonumber(string.sub(held, sep + 1))
  if holder ~= ARGV[1] and untilMs and untilMs > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. (tonumber(ARGV[2]) + tonumber(ARGV[3])), 'PX', ARGV[3])
return 1
`

export const RELEASE_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`
