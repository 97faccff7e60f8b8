/**
 * The SDK's Redis connections. ioredis defaults suit a cache client, not an agent living inside
 * someone else's app: its unlimited offline queue replayed stale heartbeats after an outage and
 * grew without bound meanwhile. Here a command while disconnected fails at once (the beat is
 * dropped), reconnects are capped and jittered, and errors never surface as 'error' events.
 * A Redis Cluster gets the same options on every node, and none of the Cluster's own re-sends.
 */
import { Cluster, Redis, type ClusterOptions, type Command, type RedisOptions } from 'ioredis'
import { isCluster, type AgentRedis } from './client.js'

const reconnectDelay = (attempt: number) => Math.min(200 * 2 ** Math.min(attempt, 6), 10_000) + Math.floor(Math.random() * 500)

export const AGENT_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 1500,
  connectTimeout: 2000,
  // without this, ioredis re-sends a command interrupted by a reconnect: a stale beat, and a beat
  // the agent withdrew by closing the connection would be written after all
  autoResendUnfulfilledCommands: false,
  retryStrategy: reconnectDelay,
}

/**
 * A Cluster client with AGENT_REDIS_OPTIONS on every node. The seed URL's credentials and TLS go
 * to every node (a Cluster's nodes share them); its database is ignored (a Cluster has only 0).
 */
export function agentClusterOptions(url: string, connectionName: string): ClusterOptions {
  const parsed = new URL(url)
  const auth: RedisOptions = {}
  if (parsed.username) auth.username = decodeURIComponent(parsed.username)
  if (parsed.password) auth.password = decodeURIComponent(parsed.password)
  if (parsed.protocol === 'rediss:') auth.tls = {}
  // the Cluster owns reconnects and the offline queue; a node connection takes neither option
  const { retryStrategy: _retry, enableOfflineQueue: _queue, ...perNode } = AGENT_REDIS_OPTIONS
  return {
    redisOptions: { ...perNode, ...auth, connectionName },
    // ioredis connects to each node on its first command; with the Cluster's offline queue off,
    // a second command meeting that node while it connects is refused ("Connection is closed."),
    // so the first beats after every (re)connect would fail. On, the wait is bounded all the same:
    // a node connection fails after connectTimeout, every command after commandTimeout, and the
    // agent sends nothing while the Cluster itself is not ready (each writer checks its status)
    enableOfflineQueue: true,
    clusterRetryStrategy: reconnectDelay,
    // a command whose node connection closed, or that met CLUSTERDOWN, fails instead of being
    // re-sent later: the Cluster's form of autoResendUnfulfilledCommands, for the same reason
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    maxRedirections: 4,
    slotsRefreshTimeout: 2000,
    // writes go to masters anyway; reads too, so the agent reads back what it wrote
    scaleReads: 'master',
  }
}

export interface Connection {
  redis: AgentRedis
  /** we created it, so we close it; a caller's instance is never closed by us */
  owned: boolean
}

export interface OpenOptions {
  /** the URL is one seed node of a Redis Cluster */
  cluster?: boolean
}

export function openConnection(source: string | AgentRedis | undefined, name: string, fallbackUrl: string, options: OpenOptions = {}): Connection {
  if (source && typeof source !== 'string') return { redis: source, owned: false }
  const url = source ?? fallbackUrl
  const redis = options.cluster ? new Cluster([seedNode(url)], agentClusterOptions(url, name)) : new Redis(url, { ...AGENT_REDIS_OPTIONS, connectionName: name })
  redis.on('error', () => {}) // reported through the failing command instead
  return { redis, owned: true }
}

function seedNode(url: string): { host: string; port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port === '' ? 6379 : Number(parsed.port) }
}

/** Closes an owned connection without waiting on a Redis that may be gone. */
export async function closeConnection(connection: Connection): Promise<void> {
  if (!connection.owned) return
  const { redis } = connection
  if (redis.status === 'ready') {
    await Promise.race([redis.quit().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 500).unref())])
  }
  redis.disconnect()
}

/**
 * Whether `command` was written to the socket and Redis has not answered it yet. A command that
 * timed out (`commandTimeout`) has a settled promise but stays in ioredis's queue of sent commands
 * until its reply arrives, so the queue, not the promise, tells whether a paused or hung Redis
 * still holds it. A closed connection takes its commands out of that queue. A Cluster has no such
 * queue of its own: the command sits in the queue of the node connection it was sent on.
 */
export function awaitsReply(redis: AgentRedis, command: Command): boolean {
  const connections = isCluster(redis) ? redis.nodes('all') : [redis]
  return connections.some((connection) => {
    const sent = connection.commandQueue
    for (let i = 0; i < sent.length; i++) if (sent.peekAt(i)?.command === command) return true
    return false
  })
}
