/**
 * One collection pass of the console's own readers against a Redis, for `zenith doctor`: the same
 * Redis plugin, collector and parts the app registers, without the HTTP server, the history
 * recorder or the alert engine (nothing is written on the console's behalf; the node reader's
 * pruning of stale index members is the one write, the same the console makes every tick).
 *
 * Only the parts that read agent-written data run: nodes, queues and slow streams. The commands
 * part reads results for commands a console sent, and expires them: that is a running console's
 * business. At least two ticks make one pass: the queues part reads the queues named in heartbeats
 * through the previous tick's nodes. The SCAN walks (the node fallback and queue discovery) each
 * cover about 20,000 keys a tick (20 steps of COUNT 1000, server/redis/key-finder.ts and
 * server/queues/discovery.ts), so a larger keyspace gets one tick more per 20,000 keys (DBSIZE is
 * O(1)), up to MAX_TICKS.
 */
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import type { Snapshot } from '../collector/snapshot.js'
import redisPlugin from '../redis/plugin.js'
import collectorPlugin from '../collector/plugin.js'
import { createRedisNodeCollector } from '../nodes/collector-part.js'
import { createQueuesCollector } from '../queues/collector-part.js'
import { createSlowCollector } from '../slow/collector-part.js'
import { DEFAULT_SLICE_MS } from '../runtime/slices.js'
import type { ProblemList } from '../collector/problem-record.js'
import { isCluster, type RedisClient } from '../redis/client.js'

export interface DoctorPassOptions {
  url: string
  /** `url` is a seed node of a Redis Cluster: every master is read, as the console does */
  cluster?: boolean
  prefix: string
  clock: Clock
  /** a part that does not answer within this fails the pass's tick, as in the console */
  partTimeoutMs?: number
}

export type DoctorPass =
  { readonly reachable: false } | { readonly reachable: true; readonly snapshot: Snapshot; readonly problems: ProblemList; readonly checkedAt: number; readonly keyCount: number; readonly ticks: number }

/** the parts a pass runs, by snapshot key; the app has these and the console-only ones */
export const DOCTOR_PARTS = ['nodes', 'queues', 'slow'] as const
const MIN_TICKS = 2
const KEYS_WALKED_PER_TICK = 20_000
/** 1.2 million keys; past that the walks are not finished and the report says so */
export const MAX_TICKS = 60

/** the keys `ticks` ticks walk, less the tick that may find only heartbeats' queues */
export function walkableKeys(ticks: number): number {
  return ticks >= MAX_TICKS ? ticks * KEYS_WALKED_PER_TICK - KEYS_WALKED_PER_TICK : Number.POSITIVE_INFINITY
}

export function ticksFor(keyCount: number): number {
  return Math.min(MAX_TICKS, Math.max(MIN_TICKS, 1 + Math.ceil(keyCount / KEYS_WALKED_PER_TICK)))
}

export async function runDoctorPass(options: DoctorPassOptions): Promise<DoctorPass> {
  // a logger of its own: the bad-data log is shared per logger, and its lines are not wanted here
  const app = Fastify({ logger: { level: 'silent' } })
  try {
    await app.register(redisPlugin, { url: options.url, cluster: options.cluster, prefix: options.prefix })
    await app.register(collectorPlugin, {
      clock: options.clock,
      tickMs: 2_000,
      autoStart: false,
      partTimeoutMs: options.partTimeoutMs ?? 10_000,
    })
    await app.register(
      fp(async (scope) => {
        scope.collector.addPart(createRedisNodeCollector(scope.redis, scope.keys, { graceMs: 5 * 60_000, badData: scope.badData, sliceMs: DEFAULT_SLICE_MS }))
        scope.collector.addPart(createQueuesCollector(scope.redis, scope.keys, scope.badData))
        scope.collector.addPart(createSlowCollector(scope.redis, scope.keys, scope.badData, { readOnly: true }))
      }),
    )
    await app.ready()
    if (app.redis.status !== 'ready') return { reachable: false }
    const keyCount = await countKeys(app.redis).catch(() => null)
    if (keyCount === null) return { reachable: false }
    const ticks = ticksFor(keyCount)
    let snapshot = app.collector.snapshot
    for (let tick = 0; tick < ticks; tick++) {
      snapshot = await app.collector.refresh()
      if (!snapshot.redis.up) return { reachable: false }
    }
    const checkedAt = options.clock()
    return { reachable: true, snapshot, problems: app.badData.problems.list(checkedAt), checkedAt, keyCount, ticks }
  } finally {
    await app.close()
  }
}

/** DBSIZE of every master: through a Cluster client one DBSIZE would count one random master's keys */
async function countKeys(redis: RedisClient): Promise<number> {
  const sizes = await Promise.all((isCluster(redis) ? redis.nodes('master') : [redis]).map((shard) => shard.dbsize()))
  return sizes.reduce((total, size) => total + size, 0)
}
