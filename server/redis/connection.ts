/**
 * ioredis options for the console. The defaults suit a cache client, not a monitor: an unlimited
 * offline queue replays stale commands after an outage and blocks callers meanwhile. Here a command
 * fails fast while Redis is away and the collector keeps serving its last snapshot.
 */
import { Redis, type RedisOptions } from 'ioredis'
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
    retryStrategy: (attempt) => Math.min(200 * 2 ** Math.min(attempt, 5), 5000) + Math.floor(Math.random() * 250),
  }
}

export function connectRedis(url: string, connectionName: string): Redis {
  const redis = new Redis(url, consoleRedisOptions(connectionName))
  // without a listener ioredis reports every failed reconnect as an uncaught 'error' event
  redis.on('error', () => {})
  return redis
}

/** A second connection to the same server or cluster, named for CLIENT LIST; errors are the caller's to listen for. */
export function duplicateConnection(redis: RedisClient, connectionName: string): RedisClient {
  return isCluster(redis) ? redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, connectionName } }) : redis.duplicate({ connectionName })
}

/** Resolves when the connection is ready or after `timeoutMs`, whichever comes first. */
export async function waitUntilReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
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
