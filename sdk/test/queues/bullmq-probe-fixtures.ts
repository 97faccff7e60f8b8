/**
 * The BullMQ probe tests' shared set-up: queues closed when their test ends, and a probe over the
 * test's Redis with the defaults the tests rely on (prefix 'bull', 20 failed jobs a page).
 */
import type { Test } from 'tap'
import type { Redis } from 'ioredis'
import { Queue, type ConnectionOptions } from 'bullmq'
import { createBullmqProbe } from '../../src/queues/bullmq.js'

export function probeFixtures(connection: ConnectionOptions, redis: Redis) {
  function queueNamed(t: Test, name: string, prefix?: string): Queue {
    const queue = new Queue(name, { connection, ...(prefix ? { prefix } : {}) })
    t.teardown(() => queue.close())
    return queue
  }

  const probeOf = (name: string, options: { prefix?: string; failedPageSize?: number; now?: () => number } = {}) =>
    createBullmqProbe(name, { redis, prefix: options.prefix ?? 'bull', failedPageSize: options.failedPageSize ?? 20, ...(options.now ? { now: options.now } : {}) })

  return { queueNamed, probeOf }
}
