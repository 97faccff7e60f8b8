/**
 * One history write, atomic in Redis: store a raw sample, fold it into its 1 min and 10 min rollup
 * buckets, and trim. Several console replicas record the same series, so it must be idempotent:
 * - the raw sample is set with HSETNX: the first replica to write a bucket wins, the others stop
 *   there and fold nothing;
 * - a rollup bucket remembers the index of the last raw bucket folded into it and refuses that
 *   index or an earlier one, so a late or repeated write is never counted twice.
 * Trimming is deterministic: each write deletes the chunk that just fell out of its resolution's
 * retention, and every chunk carries a PEXPIRE so a series that stops (a dead node) disappears.
 *
 * KEYS: raw chunk, raw chunk past retention, then the same pair for each rollup.
 * ARGV: raw bucket (field), sample, then per rollup its bucket (field) and the raw sample's index in
 * it, then the three TTLs in milliseconds.
 * Cells are decimal integers; Lua prints numbers with %.14g, exact for the sums kept here (< 1e14).
 */
export const WRITE_SCRIPT = `
local function split(s)
  local out, i = {}, 1
  while true do
    local j = string.find(s, ',', i, true)
    if not j then out[#out + 1] = string.sub(s, i); return out end
    out[#out + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end

local function merge(old, sample, index)
  local n, cells = 0, {}
  if old then
    local parts = split(old)
    local last, count = tonumber(parts[1]), tonumber(parts[2])
    if last and count and #parts == #sample + 2 then
      if index <= last then return nil end
      n = count
      for k = 1, #sample do cells[k] = parts[k + 2] end
    end
  end
  local out = { index, n + 1 }
  for k = 1, #sample do
    local sum, top, have = 0, nil, 0
    local cell = cells[k] or ''
    if cell ~= '' then
      local s, x, c = string.match(cell, '^(%d+):(%d+):?(%d*)$')
      if s then
        sum, top = tonumber(s), tonumber(x)
        if c == '' then have = n else have = tonumber(c) end
      end
    end
    local v = tonumber(sample[k])
    if v then
      sum = sum + v
      if top == nil or v > top then top = v end
      have = have + 1
    end
    if have == 0 then out[#out + 1] = ''
    elseif have == n + 1 then out[#out + 1] = sum .. ':' .. top
    else out[#out + 1] = sum .. ':' .. top .. ':' .. have end
  end
  return table.concat(out, ',')
end

if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('DEL', KEYS[2])
local sample = split(ARGV[2])
for r = 1, 2 do
  local key = KEYS[2 * r + 1]
  local field = ARGV[2 * r + 1]
  local merged = merge(redis.call('HGET', key, field), sample, tonumber(ARGV[2 * r + 2]))
  if merged then redis.call('HSET', key, field, merged) end
  redis.call('PEXPIRE', key, ARGV[7 + r])
  redis.call('DEL', KEYS[2 * r + 2])
end
return 1
`
