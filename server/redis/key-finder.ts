/**
 * Finds heartbeat keys. The index sorted set (written by our SDK beside each beat) lists nodes in
 * one cheap call; an incremental SCAN is the safety net for agents that only SET the heartbeat key.
 * SCAN cost grows with the whole keyspace, so each tick advances the cursor a bounded number of
 * steps: a small keyspace is covered every tick, a huge one over several ticks.
 */
import type { Redis } from 'ioredis'
import type { ConsoleKeys } from './keys.js'

export interface KeyFinderOptions {
  /** index entries older than this are ignored (and pruned) */
  indexWindowMs: number
  scanCount?: number
  scanStepsPerTick?: number
}

export function createKeyFinder(redis: Redis, keys: ConsoleKeys, options: KeyFinderOptions) {
  const scanCount = options.scanCount ?? 1000
  const scanSteps = options.scanStepsPerTick ?? 20
  let cursor = '0'

  async function fromIndex(now: number): Promise<string[]> {
    const members = await redis.zrangebyscore(keys.nodeIndex(), now - options.indexWindowMs, '+inf')
    const found: string[] = []
    for (const member of members) {
      const ref = keys.parseIndexMember(member)
      if (ref) found.push(keys.node(ref.service, ref.nodeId))
    }
    return found
  }

  /** Advances the SCAN cursor; `complete` is true when this call finished a full pass. */
  async function scanStep(): Promise<{ keys: string[]; complete: boolean }> {
    const found: string[] = []
    for (let step = 0; step < scanSteps; step++) {
      const [next, batch] = await redis.scan(cursor, 'MATCH', keys.nodePattern(), 'COUNT', scanCount)
      found.push(...batch)
      cursor = next
      if (cursor === '0') return { keys: found, complete: true }
    }
    return { keys: found, complete: false }
  }

  async function pruneIndex(now: number): Promise<void> {
    await redis.zremrangebyscore(keys.nodeIndex(), '-inf', now - options.indexWindowMs)
  }

  return { fromIndex, scanStep, pruneIndex }
}

export type KeyFinder = ReturnType<typeof createKeyFinder>
