/**
 * ioredis options for the console. The defaults suit a cache client, not a monitor: an unlimited
 * offline queue replays stale commands after an outage and blocks callers meanwhile. Here a command
 * fails fast while Redis is away and the collector keeps serving its last snapshot.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { isCluster, type RedisClient } from './client.js'

export function consoleRedisOptions(connectionName: string): RedisOptions {
  return {
    connectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    connectTimeout: 2000,
    lazyConnect: false,
    // capped exponential backoff with jitter, so many consoles do not reconnect in lockstep
    retryStrategy: reconnectDelay,
  }
}

function reconnectDelay(attempt: number): number {
  return Math.min(200 * 2 ** Math.min(attempt, 5), 5000) + Math.floor(Math.random() * 250)
}

export interface ConnectOptions {
  /** `url` is one seed node of a Redis Cluster; the client learns the others from it */
  cluster?: boolean
}

export function connectRedis(url: string, connectionName: string, options: ConnectOptions = {}): RedisClient {
  const redis = options.cluster ? new Cluster([seedNode(url)], consoleClusterOptions(url, connectionName)) : new Redis(url, consoleRedisOptions(connectionName))
  // without a listener ioredis reports every failed reconnect as an uncaught 'error' event
  redis.on('error', () => {})
  return redis
}

/**
 * A Cluster client with the console's per-node options. The credentials and TLS of the seed URL
 * go to every node, since a Cluster's nodes share them; the URL's database is ignored (a Cluster
 * has only database 0).
 */
export function consoleClusterOptions(url: string, connectionName: string): ClusterOptions {
  const parsed = new URL(url)
  const auth: RedisOptions = {}
  if (parsed.username) auth.username = decodeURIComponent(parsed.username)
  if (parsed.password) auth.password = decodeURIComponent(parsed.password)
  if (parsed.protocol === 'rediss:') auth.tls = {}
  return {
    // A node connection is created lazily ('wait') and connects on its first command, which its
    // offline queue holds meanwhile; commandTimeout still cuts that wait short. The Cluster's own
    // offline queue stays off, so a command to a node that is down fails at once.
    redisOptions: { ...consoleRedisOptions(connectionName), enableOfflineQueue: true, ...auth },
    enableOfflineQueue: false,
    // ioredis' ready check sends CLUSTER INFO to a random node, and with the offline queue off it
    // fails whenever that node is still connecting, so a healthy Cluster could stay "reconnecting"
    // for seconds. The console judges the Cluster itself, master by master (./cluster-health.ts),
    // and waitUntilReady waits for every master's connection.
    enableReadyCheck: false,
    // a slot whose master is down fails its commands at once instead of queueing them for retries
    maxRedirections: 4,
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    slotsRefreshTimeout: 2000,
    clusterRetryStrategy: reconnectDelay,
    // reads go to masters: a replica may lag, and the console's own writes must be read back
    scaleReads: 'master',
  }
}

function seedNode(url: string): { host: string; port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port === '' ? 6379 : Number(parsed.port) }
}

/** A second connection to the same server or cluster, named for CLIENT LIST; errors are the caller's to listen for. */
export function duplicateConnection(redis: RedisClient, connectionName: string): RedisClient {
  return isCluster(redis) ? redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, connectionName } }) : redis.duplicate({ connectionName })
}

/**
 * Resolves when the connection is ready or after `timeoutMs`, whichever comes first. On a Cluster,
 * ready means the slot map is read and every master's connection is up, or the first commands of a
 * tick would fail on a connection still being made.
 */
export async function waitUntilReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (!isCluster(redis)) return waitForReadyEvent(redis, timeoutMs)
  const until = Date.now() + timeoutMs
  if (!(await waitForReadyEvent(redis, timeoutMs))) return false
  const masters = redis.nodes('master')
  const ready = await Promise.all(
    masters.map((node) => {
      // a lazy node connection connects on its first command; ask for it now
      if (node.status === 'wait') node.connect().catch(() => {})
      return waitForReadyEvent(node, Math.max(0, until - Date.now()))
    }),
  )
  return ready.every(Boolean)
}

async function waitForReadyEvent(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      resolve(ready)
    }
    const onReady = () => done(true)
    const timer = setTimeout(() => done(false), timeoutMs)
    redis.once('ready', onReady)
  })
}
