/**
 * Decorates the app with its Redis connection and the key builders for the configured prefix.
 * The connection is closed with the app.
 */
import fp from 'fastify-plugin'
import type { RedisClient } from './client.js'
import { connectRedis } from './connection.js'
import { createConsoleKeys, type ConsoleKeys } from './keys.js'
import { waitUntilReady } from './connection.js'
import { watchRedisVersion, type RedisVersionWatch } from './version-check.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient
    keys: ConsoleKeys
    /** the server's version and what it is too old for, checked at start and on reconnect */
    redisVersion: RedisVersionWatch
  }
}

export interface RedisPluginOptions {
  url: string
  /** `url` is a seed node of a Redis Cluster */
  cluster?: boolean
  prefix: string
}

export default fp<RedisPluginOptions>(
  async (app, options) => {
    const redis = connectRedis(options.url, 'zenith-console', { cluster: options.cluster })
    // commands fail fast while disconnected, so give the first connect a moment; a Redis that is
    // down at boot does not stop the console, which starts with the "unreachable" banner instead
    await waitUntilReady(redis, 3000)
    const redisVersion = watchRedisVersion(redis, app.log)
    await redisVersion.settled()
    app.decorate<RedisClient>('redis', redis)
    app.decorate('redisVersion', redisVersion)
    app.decorate('keys', createConsoleKeys(options.prefix))
    app.addHook('onClose', async () => {
      redisVersion.stop()
      // quit waits for replies; when Redis is gone it would wait for the reconnect, so cut it
      await Promise.race([redis.quit().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 500).unref())])
      redis.disconnect()
    })
  },
  { name: 'zenith-redis' },
)
