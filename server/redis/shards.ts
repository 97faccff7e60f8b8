/**
 * The two things a Cluster refuses that a single Redis allows, made to work on both.
 * - A pipeline whose keys span hash slots: ioredis rejects it on a Cluster unless every slot is
 *   served by the same master. `pipelineBySlot` takes each command with the key it touches and
 *   sends one pipeline per master (in parallel); on a single Redis everything goes in one
 *   pipeline, exactly as `createBatch`. Either way each command's reply lands in its own slot
 *   object, so callers never see how commands were grouped.
 * - A SCAN sees only the shard it is sent to: through a Cluster client that is one master, a
 *   third of the keys on three. `createShardScan` walks every master's keyspace, one SCAN per
 *   master per step, and finishes a pass when every master's cursor is back at 0.
 */
import calculateSlot from 'cluster-key-slot'
import { createBatch, type Batch, type Reply, type Slot } from './batch.js'
import { isCluster, type RedisClient } from './client.js'
import type { Cluster, ChainableCommander } from 'ioredis'

export interface SlotGroupedBatch {
  /** queues one command touching `key` (its first key, for a multi-key command on one slot) */
  add<T>(key: string, enqueue: (pipeline: ChainableCommander) => unknown): Slot<T>
  /** commands queued so far */
  readonly size: number
  /** pipelines queued so far: one per master on a Cluster, one on a single Redis (none when empty) */
  readonly pipelines: number
  /** sends every pipeline and fills every slot; rejects as `createBatch` does */
  exec(): Promise<void>
}

type Enqueue = (pipeline: ChainableCommander) => unknown

/** A command's slot, answered by whichever pipeline last sent the command. */
class RoutedSlot<T> implements Slot<T> {
  constructor(public via: Slot<T>) {}

  get reply(): Reply<T> {
    return this.via.reply
  }

  valueOr<F>(fallback: F): T | F {
    return this.via.valueOr(fallback)
  }
}

interface Queued {
  key: string
  enqueue: Enqueue
  slot: RoutedSlot<unknown>
}

interface Group {
  batch: Batch
  queued: Queued[]
}

/** the slot moved to another master: the command did not run there */
const REDIRECTED = /^(MOVED|ASK) /
/** ioredis refuses a pipeline whose slots its map no longer has on one master, before sending it */
const REFUSED_GROUP = /should belong to the same slots? allocation group/

export function pipelineBySlot(client: RedisClient): SlotGroupedBatch {
  const cluster = isCluster(client) ? client : null
  // one pipeline per master: thousands of keys of a fleet fall in thousands of slots, and one
  // pipeline (one round trip) per slot made a Cluster tick several times slower than one Redis's
  const groups = new Map<string, Group>()
  let size = 0
  let ran = false

  return {
    add<T>(key: string, enqueue: Enqueue): Slot<T> {
      if (ran) throw new Error('batch already ran')
      const id = cluster ? masterGroup(cluster, key) : 'all'
      let group = groups.get(id)
      if (!group) groups.set(id, (group = { batch: createBatch(client), queued: [] }))
      const slot = new RoutedSlot<T>(group.batch.add<T>(enqueue))
      group.queued.push({ key, enqueue, slot })
      size++
      return slot
    },
    get size() {
      return size
    },
    get pipelines() {
      return [...groups.values()].filter((group) => group.batch.size > 0).length
    },
    async exec(): Promise<void> {
      if (ran) throw new Error('batch already ran')
      ran = true
      const sent = [...groups.values()]
      const outcomes = await Promise.allSettled(sent.map((group) => group.batch.exec()))
      if (!cluster) {
        for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason
        return
      }
      // The slot map changed under the batch (a resharding, a failover): a pipeline ioredis
      // refused whole, or commands a master redirected (they did not run), go again once, each
      // slot in a pipeline of its own as ioredis routes and redirects them. Any error then is
      // the command's, or the batch's as before.
      const again: Queued[] = []
      let redirected = false
      sent.forEach((group, i) => {
        const outcome = outcomes[i]!
        if (outcome.status === 'rejected') {
          // refused before anything was sent; any other failure is the batch's, as before
          if (!REFUSED_GROUP.test(String((outcome.reason as Error | undefined)?.message))) throw outcome.reason
          again.push(...group.queued)
          return
        }
        for (const queued of group.queued) {
          const reply = queued.slot.reply
          if (!reply.ok && REDIRECTED.test(reply.error.message)) {
            redirected = true
            again.push(queued)
          }
        }
      })
      if (again.length === 0) return
      if (redirected) await refreshSlots(cluster)
      const bySlot = new Map<number, Batch>()
      for (const queued of again) {
        const slot = calculateSlot(queued.key)
        let batch = bySlot.get(slot)
        if (!batch) bySlot.set(slot, (batch = createBatch(client)))
        queued.slot.via = batch.add(queued.enqueue)
      }
      await Promise.all([...bySlot.values()].map((batch) => batch.exec()))
    },
  }
}

/**
 * The nodes serving `key`'s slot, as ioredis groups slots to accept a pipeline spanning them;
 * before the slot map is known, the slot alone (ioredis routes such a pipeline itself).
 */
function masterGroup(cluster: Cluster, key: string): string {
  const slot = calculateSlot(key)
  const nodes = cluster.slots[slot]
  return nodes && nodes.length > 0 ? nodes.join(';') : `slot:${slot}`
}

function refreshSlots(cluster: Cluster): Promise<void> {
  return new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()))
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
      if (cursors === null) {
        const shards = shardsOf(client)
        // a Cluster client between connections knows no master yet: a pass over none would
        // "find" an empty keyspace, and every node would look gone
        if (shards.length === 0) throw new Error('no Redis Cluster master is connected')
        cursors = new Map(shards.map((shard) => [shard, '0']))
      }
      const pass = cursors
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
