/**
 * A real 3-master Redis Cluster on loopback, built from Debian's redis-server and redis-cli (about
 * 1.5 s): three cluster-enabled servers, slots shared out by `redis-cli --cluster create`, ready
 * once every node reports `cluster_state:ok`.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import { startRedis, type TestRedis } from './redis-server.js'

const run = promisify(execFile)

export interface TestCluster {
  /** host:port of every master */
  nodes: { host: string; port: number }[]
  /** a Cluster client; the caller quits it */
  connect(): Cluster
  stop(): Promise<void>
}

export async function startRedisCluster(masters = 3): Promise<TestCluster> {
  const servers: TestRedis[] = await Promise.all(Array.from({ length: masters }, () => startRedis(['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'])))
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()))
  }
  try {
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`)
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'])
    await Promise.all(servers.map((server) => waitForClusterOk(server.url)))
  } catch (error) {
    await stop()
    throw error
  }
  const nodes = servers.map((server) => ({ host: '127.0.0.1', port: server.port }))
  return { nodes, connect: () => new Cluster(nodes), stop }
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
