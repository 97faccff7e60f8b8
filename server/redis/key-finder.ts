/**
 * Finds heartbeat keys, as cheaply as the keyspace allows.
 * - The index sorted set (written by our SDK beside each beat, score = beat time) is read every
 *   tick with its scores: in full now and then, and in between only for the members that beat
 *   since the last read (less a margin for clock skew). A member's score is its beat time, so the
 *   collector can tell which indexed nodes beat since it last read them, and read only those.
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

export interface IndexEntry {
  /** the node's heartbeat key */
  key: string
  /** the member's score: when the node last beat, by its own clock */
  beatAt: number
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
  /** heartbeat key of each valid index member seen since the last full index read */
  let keyOfMember = new Map<string, string>()

  /** Nodes in the index with their beat times: all of them on a full read, else those that beat recently. */
  async function fromIndex(now: number): Promise<{ entries: IndexEntry[]; full: boolean }> {
    const full = lastIndexRead === null || now - lastFullIndexRead >= fullIndexEveryMs || now < lastIndexRead
    const since = full ? now - options.indexWindowMs : lastIndexRead! - INDEX_OVERLAP_MS
    const reply = await redis.zrangebyscore(keys.nodeIndex(), since, '+inf', 'WITHSCORES')
    lastIndexRead = now
    if (full) lastFullIndexRead = now
    // most members come back tick after tick: their keys are remembered, so only a new member
    // pays for the name check and the key string; a full read forgets members that left
    const previous = keyOfMember
    if (full) keyOfMember = new Map()
    const entries: IndexEntry[] = []
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const member = reply[i]!
      const beatAt = Number(reply[i + 1])
      let key = previous.get(member)
      if (key === undefined) {
        const ref = keys.parseIndexMember(member)
        if (!ref) continue
        key = keys.node(ref.service, ref.nodeId)
      }
      keyOfMember.set(member, key)
      if (Number.isFinite(beatAt)) entries.push({ key, beatAt })
    }
    return { entries, full }
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
