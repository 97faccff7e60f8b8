/**
 * A real 3-master Redis Cluster on loopback, built from Debian's redis-server and redis-cli (about
 * 1.5 s), or from valkey-server and valkey-cli: three cluster-enabled servers, slots shared out by
 * `redis-cli --cluster create`, ready once every node reports `cluster_state:ok`. A master killed
 * and restarted keeps its data folder, so it rejoins with its slots (nodes.conf).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import { engineBinaries, startRedis, type RedisEngine, type TestRedis } from './redis-server.js'

const run = promisify(execFile)

export interface TestCluster {
  /** host:port of every master */
  nodes: { host: string; port: number }[]
  /** every master's process, in the order of `nodes`: kill one to take its slots away */
  servers: TestRedis[]
  /** a seed URL for `--url` with `--cluster` */
  url: string
  /** a Cluster client; the caller quits it */
  connect(): Cluster
  stop(): Promise<void>
}

export interface StartClusterOptions {
  engine?: RedisEngine
  /** an engine per master, overriding `engine` (a Cluster mid-way through a rolling upgrade) */
  engines?: readonly RedisEngine[]
  /** more server arguments, e.g. `['--cluster-require-full-coverage', 'no']` */
  extraArgs?: string[]
}

export async function startRedisCluster(masters = 3, options: StartClusterOptions = {}): Promise<TestCluster> {
  const engine = options.engine ?? 'redis'
  const servers: TestRedis[] = await Promise.all(
    Array.from({ length: masters }, (_, n) => startRedis(['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', ...(options.extraArgs ?? [])], { engine: options.engines?.[n] ?? engine })),
  )
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()))
  }
  try {
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`)
    await run(engineBinaries(engine).cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'])
    await Promise.all(servers.map((server) => waitForClusterOk(server.url)))
  } catch (error) {
    await stop()
    throw error
  }
  const nodes = servers.map((server) => ({ host: '127.0.0.1', port: server.port }))
  return { nodes, servers, url: servers[0]!.url, connect: () => new Cluster(nodes), stop }
}

async function waitForClusterOk(url: string, deadlineMs = 15_000): Promise<void> {
  const redis = new Redis(url)
  try {
    const until = Date.now() + deadlineMs
    for (;;) {
      const info = await redis.cluster('INFO')
      if (/cluster_state:ok/.test(String(info))) return
      if (Date.now() > until) throw new Error(`cluster node ${url} never reported cluster_state:ok`)
      // the cluster bus agrees on the slot map within a second or two; there is no event to wait on
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    redis.disconnect()
  }
}
