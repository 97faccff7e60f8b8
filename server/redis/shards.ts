/**
 * The two things a Cluster refuses that a single Redis allows, made to work on both.
 * - A pipeline whose keys span hash slots: ioredis rejects it on a Cluster. `pipelineBySlot`
 *   takes each command with the key it touches and sends one pipeline per slot (in parallel); on a
 *   single Redis everything goes in one pipeline, exactly as `createBatch`. Either way each
 *   command's reply lands in its own slot object, so callers never see how commands were grouped.
 * - A SCAN sees only the shard it is sent to: through a Cluster client that is one master, a
 *   third of the keys on three. `createShardScan` walks every master's keyspace, one SCAN per
 *   master per step, and finishes a pass when every master's cursor is back at 0.
 */
import calculateSlot from 'cluster-key-slot'
import { createBatch, type Batch, type Slot } from './batch.js'
import { isCluster, type RedisClient } from './client.js'
import type { ChainableCommander } from 'ioredis'

export interface SlotGroupedBatch {
  /** queues one command touching `key` (its first key, for a multi-key command on one slot) */
  add<T>(key: string, enqueue: (pipeline: ChainableCommander) => unknown): Slot<T>
  /** commands queued so far */
  readonly size: number
  /** pipelines queued so far: one per slot on a Cluster, one on a single Redis (none when empty) */
  readonly pipelines: number
  /** sends every pipeline and fills every slot; rejects as `createBatch` does */
  exec(): Promise<void>
}

export function pipelineBySlot(client: RedisClient): SlotGroupedBatch {
  const cluster = isCluster(client)
  const batches = new Map<number, Batch>()
  let size = 0
  let ran = false

  function batchFor(key: string): Batch {
    const slot = cluster ? calculateSlot(key) : 0
    let batch = batches.get(slot)
    if (!batch) batches.set(slot, (batch = createBatch(client)))
    return batch
  }

  return {
    add<T>(key: string, enqueue: (pipeline: ChainableCommander) => unknown): Slot<T> {
      if (ran) throw new Error('batch already ran')
      const slot = batchFor(key).add<T>(enqueue)
      size++
      return slot
    },
    get size() {
      return size
    },
    get pipelines() {
      return [...batches.values()].filter((batch) => batch.size > 0).length
    },
    async exec(): Promise<void> {
      if (ran) throw new Error('batch already ran')
      ran = true
      await Promise.all([...batches.values()].map((batch) => batch.exec()))
    },
  }
}

/**
 * `keys` split into groups a multi-key command (MGET, DEL, EXISTS) may take at once: one group
 * per hash slot on a Cluster, a single group on one Redis. Order within a group is kept.
 */
export function groupBySlot(client: RedisClient, keys: readonly string[]): string[][] {
  if (!isCluster(client)) return keys.length === 0 ? [] : [[...keys]]
  const groups = new Map<number, string[]>()
  for (const key of keys) {
    const slot = calculateSlot(key)
    const group = groups.get(slot)
    if (group) group.push(key)
    else groups.set(slot, [key])
  }
  return [...groups.values()]
}

export interface ShardScanStep {
  /** keys the step found, from every shard still in the pass */
  keys: string[]
  /** every shard's walk is over: the next step starts a new pass */
  finished: boolean
}

export interface ShardScan {
  /** one SCAN on each shard whose walk is not over; starts a pass when none is under way */
  step(): Promise<ShardScanStep>
}

export interface ShardScanOptions {
  match: string
  count: number
}

export function createShardScan(client: ScanSource, options: ShardScanOptions): ShardScan {
  /** the shards of the pass under way and their cursors; null between passes */
  let cursors: Map<Scannable, string> | null = null

  return {
    async step(): Promise<ShardScanStep> {
      // masters are listed once per pass: a shard added mid-pass is walked from the next one
      const pass = (cursors ??= new Map(shardsOf(client).map((shard) => [shard, '0'])))
      const replies = await Promise.all([...pass].map(async ([shard, cursor]) => ({ shard, reply: await shard.scan(cursor, 'MATCH', options.match, 'COUNT', options.count) })))
      const keys: string[] = []
      for (const { shard, reply } of replies) {
        const [next, found] = reply
        keys.push(...found)
        if (next === '0') pass.delete(shard)
        else pass.set(shard, next)
      }
      const finished = pass.size === 0
      if (finished) cursors = null
      return { keys, finished }
    },
  }
}

type Scannable = Pick<RedisClient, 'scan'>
/** a client, or anything that scans like one (a test counting its SCANs) */
export type ScanSource = RedisClient | Scannable

/** The connections to SCAN for the whole keyspace: every master of a Cluster, else the one server. */
export function shardsOf(client: ScanSource): Scannable[] {
  return 'isCluster' in client && isCluster(client) ? client.nodes('master') : [client]
}
