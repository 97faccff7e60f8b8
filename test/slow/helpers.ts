/**
 * The slow collector part on its own against a real Redis: a console connection with the
 * console's options (a 2 s command timeout, as in production), a bad-data log that keeps every
 * report, and the bytes Redis sent between two points.
 */
import { Redis } from 'ioredis'
import { consoleRedisOptions, waitUntilReady } from '../../server/redis/connection.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { createSlowCollector, type SlowCollectorOptions, type SlowPart } from '../../server/slow/collector-part.js'
import type { Snapshot } from '../../server/collector/snapshot.js'

export const keys = createConsoleKeys('gravito:quasar:')

export interface Report {
  readonly key: string
  readonly reason: string
}

export function slowCollector(url: string, options: SlowCollectorOptions = {}) {
  const redis = new Redis(url, consoleRedisOptions('zenith-test-slow'))
  redis.on('error', () => {})
  const reports: Report[] = []
  const part = createSlowCollector(redis, keys, { report: (key, reason) => void reports.push({ key, reason }) }, options)
  let now = Date.UTC(2026, 10, 23, 12, 0, 0)
  return {
    redis,
    reports,
    /** one tick, 2 s after the previous one; `services` stand for the nodes part's agents */
    tick: async (services: readonly string[] = []): Promise<SlowPart> => {
      now += 2_000
      // the console's connection has no offline queue: a command before it is ready fails
      await waitUntilReady(redis, 10_000)
      const slow = await part.collect(now, { nodes: services.map((service) => ({ service })) } as unknown as Snapshot)
      if (!slow) throw new Error('the slow part returned nothing')
      return slow
    },
    close: () => redis.quit(),
  }
}

/** Redis's total_net_output_bytes: every byte it has written to any client */
export async function outputBytes(admin: Redis): Promise<number> {
  const info = await admin.info('stats')
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1])
}

/** XADD of a slow entry; returns its id */
export async function addEntry(admin: Redis, service: string, fields: Record<string, string | number>): Promise<string> {
  const id = await admin.xadd(keys.slow(service), '*', ...Object.entries(fields).flatMap(([name, value]) => [name, String(value)]))
  return id!
}
