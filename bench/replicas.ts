/**
 * What the consoles cost Redis, with one replica and with three, over the same fleet: the app the
 * server runs, each replica with its collector and its SQLite archiver on their own timers at the
 * default tick, on one Redis and on a 3-master Cluster. While they run, the bench
 * beats like the fleet (a fifth of the nodes every 2 s, so each node every 10 s), and counts what
 * Redis executed until every replica has ticked a fixed number of times, from `INFO commandstats` (summed over the masters;
 * commands run by scripts count, as Redis counts them), less what the bench sent itself.
 *
 * Each replica count starts from the same fleet in a flushed Redis, so no run inherits history
 * written by the one before.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { parseConfig } from '../server/config.js'
import { shardsOf } from '../server/redis/shards.js'
import type { RedisClient } from '../server/redis/client.js'
import { startRedis } from '../test/helpers/redis-server.js'
import { startRedisCluster } from '../test/helpers/redis-cluster.js'
import { eventually } from '../test/helpers/eventually.js'
import { buildTestApp } from '../test/helpers/app.js'
import { FLEET, count, fleetWriter, writeBeats, writeFleet, type FleetShape } from './fleet.js'
import { commandCalls, consoleCalls, type Calls } from './commandstats.js'
import { round } from './stats.js'

export type RedisKind = 'one Redis' | '3-master Cluster'

export interface ReplicasRow {
  redis: RedisKind
  replicas: number
  seconds: number
  /** ticks the consoles ran in the window, all replicas together */
  ticks: number
  commandsPerSec: number
  commandsPerTick: number
  /** commands per second, by command, highest first */
  byCommand: [string, number][]
}

export interface ReplicasResult {
  rows: ReplicasRow[]
  shape: FleetShape
  ticks: number
  tickMs: number
}

const BEAT_EVERY_MS = 2_000

export async function benchReplicas(options: { ticks: number; replicas: number[]; cluster: boolean; shape?: FleetShape }): Promise<ReplicasResult> {
  const shape = options.shape ?? FLEET
  const tickMs = parseConfig({}).tickMs
  const rows: ReplicasRow[] = []
  const targets: RedisKind[] = options.cluster ? ['one Redis', '3-master Cluster'] : ['one Redis']
  for (const redis of targets) {
    const server = redis === 'one Redis' ? await startRedis() : await startRedisCluster(3)
    const target = { url: server.url, cluster: redis !== 'one Redis' }
    const writer = fleetWriter(target)
    try {
      for (const replicas of options.replicas) {
        await Promise.all(shardsOf(writer).map((shard) => (shard as RedisClient).flushall()))
        await writeFleet(writer, shape, Date.now())
        rows.push(await measure(redis, target, writer, replicas, options.ticks, shape))
      }
    } finally {
      writer.disconnect()
      await server.stop()
    }
  }
  return { rows, shape, ticks: options.ticks, tickMs }
}

async function measure(redis: RedisKind, target: { url: string; cluster: boolean }, writer: RedisClient, replicas: number, ticks: number, shape: FleetShape): Promise<ReplicasRow> {
  const dataDir = mkdtempSync(join(tmpdir(), 'zenith-bench-replicas-'))
  const consoles: FastifyInstance[] = []
  let beats = 0
  const beat = async (sent?: Calls) => {
    const wrote = await writeBeats(writer, shape, Date.now(), (n) => n % 5 === beats % 5)
    beats++
    if (sent) for (const [name, n] of wrote) count(sent, name, n)
  }
  try {
    for (let i = 0; i < replicas; i++) {
      // the self-monitoring agent stays off so every run watches the same fleet
      const app = await buildTestApp({ redisUrl: target.url, redisCluster: target.cluster, autoStart: true, selfMonitor: false, archive: `sqlite:${join(dataDir, `archive-${i}.sqlite`)}` })
      consoles.push(app)
    }
    // warm-up: every console has read the whole fleet and written its first history
    const started = consoles.map((c) => c.collector.snapshot.version)
    await eventually(
      async () => {
        await beat()
        return consoles.every((c, i) => c.collector.snapshot.version >= started[i]! + 3 && c.collector.snapshot.nodes.length === shape.nodes)
      },
      `${replicas} consoles warmed up`,
      300_000,
      BEAT_EVERY_MS,
    )
    const sent: Calls = new Map()
    const before = await commandCalls(writer)
    const versions = consoles.map((c) => c.collector.snapshot.version)
    const windowStart = performance.now()
    // the window closes once every replica has ticked `ticks` times: on a loaded machine a tick
    // takes longer than its interval, and a window of fixed length would catch a varying share
    const ticked = () => consoles.every((c, i) => c.collector.snapshot.version - versions[i]! >= ticks)
    for (let i = 0; !ticked(); i++) {
      await beat(sent)
      const due = windowStart + (i + 1) * BEAT_EVERY_MS
      while (!ticked() && performance.now() < due) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const after = await commandCalls(writer)
    const seconds = (performance.now() - windowStart) / 1000
    const calls = consoleCalls(before, after, sent)
    const ticksRun = consoles.reduce((sum, c, i) => sum + c.collector.snapshot.version - versions[i]!, 0)
    let total = 0
    for (const n of calls.values()) total += n
    return {
      redis,
      replicas,
      seconds: round(seconds),
      ticks: ticksRun,
      commandsPerSec: Math.round(total / seconds),
      commandsPerTick: Math.round(total / ticksRun),
      byCommand: [...calls].map(([name, n]): [string, number] => [name, Math.round(n / seconds)]).sort((a, b) => b[1] - a[1]),
    }
  } finally {
    await Promise.all(consoles.map((app) => app.close()))
    rmSync(dataDir, { recursive: true, force: true })
  }
}
