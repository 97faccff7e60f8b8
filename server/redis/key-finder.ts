/**
 * Finds heartbeat keys, as cheaply as the keyspace allows and never more than a bounded amount.
 * - Node indexes: one sorted set per service (`index:nodes:{service}`, member = node id), found
 *   by SCAN, plus the legacy shared one (`index:nodes`, member = `{service}:{nodeId}`) that older
 *   agents write. Scores are beat times by the agents' clocks. Each tick reads the members scored
 *   within the window and at most `futureLimitMs` ahead of the console's clock: in full now and
 *   then, in between only those that beat since the last read (less a margin for clock skew). A
 *   member's score is its beat time, so the collector can tell which indexed nodes beat since it
 *   last read them, and read only those.
 * - What one tick reads is capped per index and in total. The members in range are counted first
 *   (ZCOUNT, O(log n)), then the budget is shared out so that the smallest indexes are read whole
 *   and one huge index cannot starve the others. An index key of another type is skipped and
 *   reported. Members far in the future are never read, and pruning removes them with the old ones.
 * - SCAN is the safety net for agents that only SET their heartbeat key, and how per-service
 *   indexes are found (one pattern matches both). Its cost grows with the whole keyspace, so a
 *   pass starts at most once per `scanIntervalMs`, and each tick advances the cursor a bounded
 *   number of steps: a huge keyspace is covered over several ticks instead of stalling one.
 */
import type { RedisClient } from './client.js'
import { isValidName } from '@gravito/quasar/protocol'
import { pipelineBySlot } from './shards.js'
import { createShardScan } from './shards.js'
import type { ConsoleKeys } from './keys.js'
import type { SkippedKeyLog } from './key-errors.js'

export interface KeyFinderOptions {
  /** index entries older than this are ignored (and pruned) */
  indexWindowMs: number
  /** index entries scored further ahead of the console's clock are ignored (and pruned) */
  futureLimitMs: number
  badData: SkippedKeyLog
  /** members read from one per-service index per tick */
  maxMembersPerIndex?: number
  /** members read from all indexes together per tick; the legacy index may take all of it */
  maxMembersPerTick?: number
  /** per-service indexes followed at most */
  maxIndexKeys?: number
  fullIndexEveryMs?: number
  scanIntervalMs?: number
  scanCount?: number
  scanStepsPerTick?: number
}

export interface IndexEntry {
  /** the node's heartbeat key */
  key: string
  service: string
  /** the member's score: when the node last beat, by its own clock */
  beatAt: number
}

export interface IndexRead {
  entries: IndexEntry[]
  full: boolean
  /** members Redis handed over this tick, valid or not */
  membersRead: number
}

interface IndexSource {
  readonly key: string
  /** the service of a per-service index; null for the legacy shared index */
  readonly service: string | null
  /** node of each valid member seen since this index's last whole-window read */
  nodeOfMember: Map<string, { key: string; service: string }>
  /** null until first read: the first read covers the whole window */
  readAt: number | null
  /** console time it last listed a member in the window (or was found) */
  listedAt: number
}

/** Beats are stamped by the agent's clock; read a little further back to cover clock skew. */
const INDEX_OVERLAP_MS = 5_000
const WRONG_TYPE = /^WRONGTYPE\b/

export const MAX_MEMBERS_PER_INDEX = 10_000
export const MAX_MEMBERS_PER_TICK = 50_000
export const MAX_INDEX_KEYS = 10_000

export function createKeyFinder(redis: RedisClient, keys: ConsoleKeys, options: KeyFinderOptions) {
  const { badData } = options
  const fullIndexEveryMs = options.fullIndexEveryMs ?? 30_000
  const scanIntervalMs = options.scanIntervalMs ?? 10_000
  const scanCount = options.scanCount ?? 1000
  const scanSteps = options.scanStepsPerTick ?? 20
  const perIndex = options.maxMembersPerIndex ?? MAX_MEMBERS_PER_INDEX
  const perTick = options.maxMembersPerTick ?? MAX_MEMBERS_PER_TICK
  const maxIndexKeys = options.maxIndexKeys ?? MAX_INDEX_KEYS
  const nodeHead = keys.nodePattern().slice(0, -1)
  const indexHead = keys.serviceNodeIndexPattern().slice(0, -1)
  let lastIndexRead: number | null = null
  let lastFullIndexRead = Number.NEGATIVE_INFINITY
  // every master's keyspace on a Cluster, the one server's otherwise
  const scan = createShardScan(redis, { match: keys.nodeDiscoveryPattern(), count: scanCount })
  /** a SCAN pass is under way, continued on the next tick */
  let scanning = false
  let passStartedAt = Number.NEGATIVE_INFINITY
  /** per-service indexes not followed in the current SCAN pass, for one report per pass */
  let indexKeysRefused = 0

  const legacy = newSource(keys.nodeIndex(), null, 0)
  const byService = new Map<string, IndexSource>()
  /** entries of every source's nodeOfMember together: kept under perTick */
  let remembered = 0

  /** Nodes in the indexes with their beat times: all of them on a full read, else those that beat recently. */
  async function fromIndex(now: number): Promise<IndexRead> {
    const full = lastIndexRead === null || now - lastFullIndexRead >= fullIndexEveryMs || now < lastIndexRead
    const oldest = now - options.indexWindowMs
    const newest = now + options.futureLimitMs
    // one index key per service: its own slot on a Cluster, so each round trip goes out per slot
    const counting = pipelineBySlot(redis)
    const plans = [legacy, ...byService.values()].map((source) => {
      const whole = full || source.readAt === null
      const since = whole ? oldest : Math.max(oldest, lastIndexRead! - INDEX_OVERLAP_MS)
      return { source, whole, since, count: counting.add<number>(source.key, (p) => p.zcount(source.key, since, newest)) }
    })
    await counting.exec()

    const readable: { source: IndexSource; whole: boolean; since: number; wanted: number }[] = []
    for (const plan of plans) {
      const reply = plan.count.reply
      if (reply.ok) readable.push({ ...plan, wanted: reply.value })
      else skipUnreadable(plan.source, reply.error)
    }
    const limits = shareOut(
      readable.map((plan) => Math.min(plan.wanted, plan.source.service === null ? perTick : perIndex)),
      perTick,
    )
    const reading = pipelineBySlot(redis)
    const reads = readable.map((plan, i) => {
      const limit = limits[i]!
      return { ...plan, limit, members: limit > 0 ? reading.add<string[]>(plan.source.key, (p) => p.zrangebyscore(plan.source.key, plan.since, newest, 'WITHSCORES', 'LIMIT', 0, limit)) : null }
    })
    await reading.exec()

    const entries: IndexEntry[] = []
    let membersRead = 0
    for (const { source, whole, wanted, limit, members } of reads) {
      source.readAt = now
      if (wanted > 0) source.listedAt = now
      if (wanted > limit) badData.report(source.key, `index lists ${wanted} nodes in its window; ${limit} read this tick (the limit)`)
      const reply = members?.reply ?? { ok: true, value: [] }
      if (!reply.ok) skipUnreadable(source, reply.error)
      membersRead += reply.ok ? reply.value.length / 2 : 0
      collectEntries(source, reply.ok ? reply.value : [], whole, entries)
    }
    for (const [service, source] of byService) {
      // an index that listed nothing for a whole window is let go; SCAN finds it again if it returns
      if (now - source.listedAt > options.indexWindowMs) {
        remembered -= source.nodeOfMember.size
        byService.delete(service)
      }
    }
    lastIndexRead = now
    if (full) lastFullIndexRead = now
    return { entries, full, membersRead }
  }

  function collectEntries(source: IndexSource, reply: string[], whole: boolean, entries: IndexEntry[]): void {
    // most members come back tick after tick: their keys are remembered, so only a new member
    // pays for the name check and the key string; a whole-window read forgets members that left
    const previous = source.nodeOfMember
    if (whole) {
      remembered -= previous.size
      source.nodeOfMember = new Map()
    }
    let badNames = 0
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const member = reply[i]!
      const node = previous.get(member) ?? nodeOf(source, member)
      if (!node) {
        badNames++
        continue
      }
      if (remembered < perTick && !source.nodeOfMember.has(member)) {
        source.nodeOfMember.set(member, node)
        remembered++
      }
      const beatAt = Number(reply[i + 1])
      if (Number.isFinite(beatAt)) entries.push({ key: node.key, service: node.service, beatAt })
    }
    if (badNames > 0) badData.report(source.key, `${badNames} index members break the name rule: skipped`)
  }

  function nodeOf(source: IndexSource, member: string): { key: string; service: string } | null {
    if (source.service === null) {
      const ref = keys.parseIndexMember(member)
      return ref && { key: keys.node(ref.service, ref.nodeId), service: ref.service }
    }
    return isValidName(member) ? { key: keys.node(source.service, member), service: source.service } : null
  }

  /** A key of another type concerns that index only; any other error is the connection's. */
  function skipUnreadable(source: IndexSource, error: Error): void {
    if (!WRONG_TYPE.test(error.message)) throw error
    badData.report(source.key, 'index key is not a sorted set: skipped')
  }

  /** Advances the SCAN safety net, if a pass is due or under way; returns the heartbeat keys found. */
  async function scanStep(now: number): Promise<string[]> {
    if (!scanning && now - passStartedAt < scanIntervalMs && now >= passStartedAt) return []
    if (!scanning) passStartedAt = now
    scanning = true
    const found: string[] = []
    for (let step = 0; step < scanSteps && scanning; step++) {
      const { keys: batch, finished } = await scan.step()
      for (const key of batch) {
        if (key.startsWith(nodeHead)) found.push(key)
        else if (key.startsWith(indexHead)) follow(key, now)
      }
      if (finished) scanning = false
    }
    if (!scanning && indexKeysRefused > 0) {
      badData.report(keys.serviceNodeIndexPattern(), `${indexKeysRefused} node indexes not followed: the console follows at most ${maxIndexKeys}`)
      indexKeysRefused = 0
    }
    return found
  }

  function follow(key: string, now: number): void {
    const service = keys.parseServiceNodeIndex(key)
    if (service === null) return badData.report(key, 'key name outside the name rule')
    if (byService.has(service)) return
    if (byService.size >= maxIndexKeys) {
      indexKeysRefused++
      return
    }
    byService.set(service, newSource(key, service, now))
  }

  /** Removes members older than the window or further ahead than the future limit. */
  async function pruneIndex(now: number): Promise<void> {
    const batch = pipelineBySlot(redis)
    const prunes = [legacy, ...byService.values()].map((source) => ({
      source,
      old: batch.add<number>(source.key, (p) => p.zremrangebyscore(source.key, '-inf', `(${now - options.indexWindowMs}`)),
      ahead: batch.add<number>(source.key, (p) => p.zremrangebyscore(source.key, `(${now + options.futureLimitMs}`, '+inf')),
    }))
    await batch.exec()
    for (const { source, old, ahead } of prunes) {
      for (const slot of [old, ahead]) if (!slot.reply.ok && !WRONG_TYPE.test(slot.reply.error.message)) throw slot.reply.error
      const removed = ahead.valueOr(0)
      if (removed > 0) badData.report(source.key, `${removed} index members scored more than ${options.futureLimitMs / 1000} s ahead of the console's clock: removed`)
    }
  }

  /** How many per-service indexes are followed, and how many members are remembered, for tests. */
  function sizes(): { indexes: number; remembered: number } {
    return { indexes: byService.size, remembered }
  }

  return { fromIndex, scanStep, pruneIndex, sizes }
}

function newSource(key: string, service: string | null, now: number): IndexSource {
  return { key, service, nodeOfMember: new Map(), readAt: null, listedAt: now }
}

/**
 * Shares `budget` among requests, smallest first: each gets what it asks for or an equal share of
 * what is left, whichever is less (max-min fairness). The answer is in the requests' order.
 */
export function shareOut(requests: readonly number[], budget: number): number[] {
  const order = requests.map((_, i) => i).sort((a, b) => requests[a]! - requests[b]!)
  const given = new Array<number>(requests.length).fill(0)
  let left = budget
  order.forEach((index, rank) => {
    const share = Math.floor(left / (order.length - rank))
    given[index] = Math.max(0, Math.min(requests[index]!, share))
    left -= given[index]
  })
  return given
}

export type KeyFinder = ReturnType<typeof createKeyFinder>
