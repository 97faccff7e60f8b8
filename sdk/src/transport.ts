/**
 * The SDK's Redis connections. ioredis defaults suit a cache client, not an agent living inside
 * someone else's app: its unlimited offline queue replayed stale heartbeats after an outage and
 * grew without bound meanwhile. Here a command while disconnected fails at once (the beat is
 * dropped), reconnects are capped and jittered, and errors never surface as 'error' events.
 */
import { Redis, type Command, type RedisOptions } from 'ioredis'

export const AGENT_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 1500,
  connectTimeout: 2000,
  // without this, ioredis re-sends a command interrupted by a reconnect: a stale beat, and a beat
  // the agent withdrew by closing the connection would be written after all
  autoResendUnfulfilledCommands: false,
  retryStrategy: (attempt) => Math.min(200 * 2 ** Math.min(attempt, 6), 10_000) + Math.floor(Math.random() * 500),
}

export interface Connection {
  redis: Redis
  /** we created it, so we close it; a caller's instance is never closed by us */
  owned: boolean
}

export function openConnection(source: string | Redis | undefined, name: string, fallbackUrl: string): Connection {
  if (source && typeof source !== 'string') return { redis: source, owned: false }
  const redis = new Redis(source ?? fallbackUrl, { ...AGENT_REDIS_OPTIONS, connectionName: name })
  redis.on('error', () => {}) // reported through the failing command instead
  return { redis, owned: true }
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
 * still holds it. A closed connection takes its commands out of that queue.
 */
export function awaitsReply(redis: Redis, command: Command): boolean {
  const sent = redis.commandQueue
  for (let i = 0; i < sent.length; i++) if (sent.peekAt(i)?.command === command) return true
  return false
}
