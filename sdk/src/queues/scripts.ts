/**
 * Runs a Lua script by its SHA1, loading it on the first NOSCRIPT. Used instead of ioredis's
 * `defineCommand`, which would add methods to an ioredis instance the application may own.
 */
import { createHash } from 'node:crypto'
import type { AgentRedis } from '../client.js'

export interface LuaScript {
  source: string
  sha: string
  keys: number
}

export function luaScript(source: string, keys: number): LuaScript {
  return { source, keys, sha: createHash('sha1').update(source).digest('hex') }
}

export async function runScript(redis: AgentRedis, script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  if (keys.length !== script.keys) throw new Error(`script expects ${script.keys} keys, got ${keys.length}`)
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args)
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
    return await redis.eval(script.source, keys.length, ...keys, ...args)
  }
}
