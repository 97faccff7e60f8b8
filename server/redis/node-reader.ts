/**
 * Reads heartbeat keys in bulk. One Lua call per chunk checks each key's type and length before
 * returning its value, so a 10 MB value or a hash squatting on a node key costs Redis a few
 * microseconds and the console nothing. Scripts need every key in one slot on Redis Cluster; a
 * cluster reader would group keys by slot before calling this per node.
 */
import type { Redis } from 'ioredis'

const READ_NODES_LUA = `
local limit = tonumber(ARGV[1])
local out = {}
for _, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then
    out[#out + 1] = 0; out[#out + 1] = ''
  elseif kind ~= 'string' then
    out[#out + 1] = 3; out[#out + 1] = kind
  else
    local size = redis.call('STRLEN', key)
    if size > limit then
      out[#out + 1] = 2; out[#out + 1] = tostring(size)
    else
      out[#out + 1] = 1; out[#out + 1] = redis.call('GET', key)
    end
  end
end
return out
`

export type RawValue =
  | { key: string; status: 'missing' }
  | { key: string; status: 'ok'; raw: string }
  | { key: string; status: 'too-large'; size: number }
  | { key: string; status: 'wrong-type'; type: string }

const CHUNK = 500

type ReaderRedis = Redis & { zenithReadNodes(count: number, ...args: (string | number)[]): Promise<(number | string)[]> }

export function createNodeReader(redis: Redis, maxBytes: number) {
  if (!('zenithReadNodes' in redis)) redis.defineCommand('zenithReadNodes', { lua: READ_NODES_LUA })
  const scripted = redis as ReaderRedis

  return async function readValues(keys: readonly string[]): Promise<RawValue[]> {
    const pipeline = scripted.pipeline()
    for (let start = 0; start < keys.length; start += CHUNK) {
      const chunk = keys.slice(start, start + CHUNK)
      ;(pipeline as unknown as ReaderRedis).zenithReadNodes(chunk.length, ...chunk, maxBytes)
    }
    const replies = (await pipeline.exec()) ?? []
    const values: RawValue[] = []
    replies.forEach(([error, reply], chunkIndex) => {
      if (error) throw error
      const flat = reply as (number | string)[]
      for (let i = 0; i < flat.length; i += 2) {
        const key = keys[chunkIndex * CHUNK + i / 2]!
        values.push(decode(key, Number(flat[i]), String(flat[i + 1])))
      }
    })
    return values
  }
}

function decode(key: string, code: number, payload: string): RawValue {
  switch (code) {
    case 1:
      return { key, status: 'ok', raw: payload }
    case 2:
      return { key, status: 'too-large', size: Number(payload) }
    case 3:
      return { key, status: 'wrong-type', type: payload }
    default:
      return { key, status: 'missing' }
  }
}
