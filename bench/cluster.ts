/**
 * One collector tick over the same fleet on a 3-master Redis Cluster and on one Redis, side by
 * side in one process: two consoles built as the server builds them (the second with
 * `redisCluster: true`), each over its own copy of the fleet. Ticks alternate between the two, and
 * which goes first alternates too, so machine noise hits both alike. Between two ticks a fifth of
 * the fleet beats, on both, as in production (beats every 10 s, ticks every 2 s).
 *
 * A tick is every part's read and then the snapshot's listeners (history and alert writes). The
 * nodes part, where a Cluster splits reads by slot, is also timed alone on each console's own
 * connection. Each tick's Redis commands are counted from `INFO commandstats` (summed over the
 * masters, commands run by scripts included, as Redis counts them).
 */
import type { FastifyInstance } from 'fastify'
import { startRedis } from '../test/helpers/redis-server.js'
import { startRedisCluster } from '../test/helpers/redis-cluster.js'
import { buildTestApp, fakeClock } from '../test/helpers/app.js'
import type { RedisClient } from '../server/redis/client.js'
import { waitUntilReady } from '../server/redis/connection.js'
import { createRedisNodeCollector, type NodeCollector } from '../server/nodes/collector-part.js'
import { createBadDataLog } from '../server/collector/bad-data-log.js'
import { FLEET, fleetWriter, writeBeats, writeFleet, type FleetShape } from './fleet.js'
import { commandCalls, consoleCalls, type Calls } from './commandstats.js'
import { median, percentile, round } from './stats.js'

export type RedisKind = 'one Redis' | '3-master Cluster'

export interface ClusterTickRow {
  measure: 'collector tick' | 'nodes part'
  redis: RedisKind
  runs: number
  medianMs: number
  minMs: number
  p90Ms: number
  maxMs: number
  /** Redis commands one run sent, median over the runs */
  commands: number
  /** collector parts that failed (a timeout on a loaded machine, say), over all the runs */
  partFailures: number
}

export interface ClusterResult {
  rows: ClusterTickRow[]
  /** Cluster median / one Redis median, per measure */
  tickRatio: number
  nodesRatio: number
  /** commands of a median collector tick, by command, per side */
  tickCalls: Record<RedisKind, Calls>
  shape: FleetShape
}

/** the bench writes its beats before the first reading, so only its INFO falls inside the window */
const NOTHING_SENT = new Map<string, number>()
const TICK_MS = 2_000
const WARM_UP_TICKS = 3

interface Timed {
  times: number[]
  calls: Calls[]
  failures: number
}

interface Side {
  redis: RedisKind
  app: FastifyInstance
  writer: RedisClient
  nodes: NodeCollector
  tick: Timed
  part: Timed
}

export async function benchCluster(runs: number, shape: FleetShape = FLEET): Promise<ClusterResult> {
  const single = await startRedis()
  const cluster = await startRedisCluster(3)
  const sides: Side[] = []
  // the console's time and the beats' stamps move 2 s a tick, as in production, however long the
  // machine takes: a slow run must not age the fleet into lost nodes and alerts
  const clock = fakeClock(Date.now())
  try {
    for (const [redis, target] of [
      ['one Redis', { url: single.url, cluster: false }],
      ['3-master Cluster', { url: cluster.url, cluster: true }],
    ] as const) {
      const writer = fleetWriter(target)
      await writeFleet(writer, shape, clock())
      const app = await buildTestApp({ redisUrl: target.url, redisCluster: target.cluster, clock, selfMonitor: false })
      // a loaded machine can take longer than the console's 3 s at boot to learn a Cluster's slots
      if (!(await waitUntilReady(app.redis, 30_000))) throw new Error(`${redis}: the console never connected`)
      const nodes = createRedisNodeCollector(app.redis, app.keys, { graceMs: 300_000, badData: createBadDataLog({ warn: () => {} }, clock) })
      sides.push({ redis, app, writer, nodes, tick: { times: [], calls: [], failures: 0 }, part: { times: [], calls: [], failures: 0 } })
    }
    // warm-up: the first ticks read every key and create every history series (and the probe's
    // connection may still be connecting during the first)
    for (let i = 0; i < WARM_UP_TICKS; i++) {
      clock.advance(TICK_MS)
      for (const side of sides) {
        await side.app.collector.refresh()
        await side.nodes.collect(clock(), side.app.collector.snapshot)
      }
    }
    for (let run = 0; run < runs; run++) {
      clock.advance(TICK_MS)
      const order = run % 2 === 0 ? sides : [...sides].reverse()
      for (const side of order) {
        await writeBeats(side.writer, shape, clock(), (n) => n % 5 === run % 5)
        const snapshot = await measure(side.writer, side.tick, () => side.app.collector.refresh())
        if (snapshot.nodes.length !== shape.nodes) throw new Error(`${side.redis}: the console saw ${snapshot.nodes.length} of ${shape.nodes} nodes`)
        side.tick.failures += Object.values(snapshot.parts).filter((status) => !status.ok).length
        // the same beats, read again by a nodes part of its own on the console's connection
        const records = await measure(side.writer, side.part, () => side.nodes.collect(clock(), snapshot)).catch(() => null)
        if (records === null) side.part.failures++
        else if (records.length !== shape.nodes) throw new Error(`${side.redis}: the nodes part saw ${records.length} of ${shape.nodes} nodes`)
      }
    }
  } finally {
    for (const side of sides) {
      await side.app.close()
      side.writer.disconnect()
    }
    await cluster.stop()
    await single.stop()
  }
  const rows = sides.flatMap((side) => [row('collector tick', side.redis, side.tick), row('nodes part', side.redis, side.part)])
  const ratio = (measure: ClusterTickRow['measure']) => {
    const [one, many] = rows.filter((r) => r.measure === measure)
    return round(many!.medianMs / one!.medianMs, 2)
  }
  const tickCalls = Object.fromEntries(sides.map((side) => [side.redis, medianCalls(side.tick.calls)])) as Record<RedisKind, Calls>
  return { rows, tickRatio: ratio('collector tick'), nodesRatio: ratio('nodes part'), tickCalls, shape }
}

async function measure<T>(writer: RedisClient, into: Timed, run: () => Promise<T>): Promise<T> {
  const before = await commandCalls(writer)
  const started = performance.now()
  const result = await run()
  into.times.push(performance.now() - started)
  into.calls.push(consoleCalls(before, await commandCalls(writer), NOTHING_SENT))
  return result
}

function row(measure: ClusterTickRow['measure'], redis: RedisKind, timed: Timed): ClusterTickRow {
  return {
    measure,
    redis,
    runs: timed.times.length,
    medianMs: round(median(timed.times)),
    minMs: round(Math.min(...timed.times)),
    p90Ms: round(percentile(timed.times, 90)),
    maxMs: round(Math.max(...timed.times)),
    commands: median(timed.calls.map(total)),
    partFailures: timed.failures,
  }
}

/** each command's median count over the runs */
function medianCalls(runs: Calls[]): Calls {
  const names = new Set(runs.flatMap((calls) => [...calls.keys()]))
  return new Map([...names].map((name) => [name, median(runs.map((calls) => calls.get(name) ?? 0))]))
}

function total(calls: Calls): number {
  let sum = 0
  for (const n of calls.values()) sum += n
  return sum
}
