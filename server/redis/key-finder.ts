/**
 * Finds heartbeat keys, as cheaply as the keyspace allows.
 * - The index sorted set (written by our SDK beside each beat, score = beat time) only finds keys
 *   the collector does not know yet: the known ones are read every tick anyway. So it is read in
 *   full now and then, and in between only when its size has changed (one ZCARD), for the members
 *   that beat since the last read. A steady fleet then costs one integer per tick instead of most
 *   of the index (with beats every 10 s, 2 s ticks and the clock-skew overlap, about 70 % of it).
 *   A member that replaces another between two ticks leaves the size unchanged: it is found by
 *   the next full read or SCAN pass, both at most a few ticks away.
 * - SCAN is the safety net for agents that only SET their heartbeat key. Its cost grows with the
 *   whole keyspace, so a pass starts at most once per `scanIntervalMs`, and each tick advances the
 *   cursor a bounded number of steps: a huge keyspace is covered over several ticks instead of
 *   stalling one.
 */
import type { Redis } from 'ioredis'
import type { ConsoleKeys } from './keys.js'

export interface KeyFinderOptions {
  /** index entries older than this are ignored (and pruned) */
  indexWindowMs: number
  fullIndexEveryMs?: number
  scanIntervalMs?: number
  scanCount?: number
  scanStepsPerTick?: number
}

/** Beats are stamped by the agent's clock; read a little further back to cover clock skew. */
const INDEX_OVERLAP_MS = 5_000

export function createKeyFinder(redis: Redis, keys: ConsoleKeys, options: KeyFinderOptions) {
  const fullIndexEveryMs = options.fullIndexEveryMs ?? 30_000
  const scanIntervalMs = options.scanIntervalMs ?? 10_000
  const scanCount = options.scanCount ?? 1000
  const scanSteps = options.scanStepsPerTick ?? 20
  let lastIndexRead: number | null = null
  let lastFullIndexRead = Number.NEGATIVE_INFINITY
  let cursor = '0'
  let passStartedAt = Number.NEGATIVE_INFINITY
  /** the index's size at the last read; unchanged size, no new member to look for */
  let indexSize: number | null = null

  /** Keys of nodes in the index: all of them on a full read, else those that beat recently. */
  async function fromIndex(now: number): Promise<{ keys: string[]; full: boolean }> {
    const full = lastIndexRead === null || now - lastFullIndexRead >= fullIndexEveryMs || now < lastIndexRead
    if (!full && (await redis.zcard(keys.nodeIndex())) === indexSize) return { keys: [], full }
    const since = full ? now - options.indexWindowMs : lastIndexRead! - INDEX_OVERLAP_MS
    // size and members from one MULTI: a member added in between would be counted and not listed
    const replies = await redis.multi().zcard(keys.nodeIndex()).zrangebyscore(keys.nodeIndex(), since, '+inf').exec()
    if (!replies) throw new Error('index read was aborted')
    for (const [error] of replies) if (error) throw error
    indexSize = replies[0]![1] as number
    const members = replies[1]![1] as string[]
    lastIndexRead = now
    if (full) lastFullIndexRead = now
    const found: string[] = []
    for (const member of members) {
      const ref = keys.parseIndexMember(member)
      if (ref) found.push(keys.node(ref.service, ref.nodeId))
    }
    return { keys: found, full }
  }

  /** Advances the SCAN safety net, if a pass is due or under way. */
  async function scanStep(now: number): Promise<string[]> {
    if (cursor === '0' && now - passStartedAt < scanIntervalMs && now >= passStartedAt) return []
    if (cursor === '0') passStartedAt = now
    const found: string[] = []
    for (let step = 0; step < scanSteps; step++) {
      const [next, batch] = await redis.scan(cursor, 'MATCH', keys.nodePattern(), 'COUNT', scanCount)
      found.push(...batch)
      cursor = next
      if (cursor === '0') break
    }
    return found
  }

  async function pruneIndex(now: number): Promise<void> {
    await redis.zremrangebyscore(keys.nodeIndex(), '-inf', now - options.indexWindowMs)
  }

  return { fromIndex, scanStep, pruneIndex }
}

export type KeyFinder = ReturnType<typeof createKeyFinder>
