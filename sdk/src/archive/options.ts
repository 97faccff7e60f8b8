/**
 * The `archive` option of startPulse, checked when the agent is made (a wrong value is a
 * programming error and throws a TypeError, like an invalid service name), and the source each
 * monitored queue gets.
 */
import { createHash } from 'node:crypto'
import type { AgentRedis } from '../client.js'
import { DEFAULT_REDACT_KEYS } from '../protocol/index.js'
import type { MonitoredDriver, MonitorQueueOptions } from '../queues/options.js'
import { DEFAULT_HORIZON_PREFIX } from '../queues/laravel.js'
import { createBullmqSource } from './bullmq-source.js'
import { createHorizonSource } from './horizon-source.js'
import type { ArchiveSource } from './source.js'

export interface ArchiveOptions {
  /** keys whose values are replaced in recorded job data, options and results (case-insensitive, substring); replaces the defaults */
  redactKeys?: readonly string[]
  /** @internal time between reads (default: the beat interval, at most 2 s) */
  intervalMs?: number
}

export interface ResolvedArchive {
  redactKeys: readonly string[]
  intervalMs?: number
}

const MAX_REDACT_KEYS = 100

/** null when recording is off. */
export function resolveArchive(option: unknown): ResolvedArchive | null {
  if (option === false) return null
  if (option === undefined || option === true) return { redactKeys: DEFAULT_REDACT_KEYS }
  if (typeof option !== 'object' || option === null || Array.isArray(option)) throw new TypeError('archive must be false, true or an object')
  const { redactKeys, intervalMs } = option as { redactKeys?: unknown; intervalMs?: unknown }
  let keys: readonly string[] = DEFAULT_REDACT_KEYS
  if (redactKeys !== undefined) {
    if (!Array.isArray(redactKeys) || redactKeys.length > MAX_REDACT_KEYS || !redactKeys.every((key) => typeof key === 'string' && key.length > 0 && key.length <= 128)) {
      throw new TypeError(`archive.redactKeys must be an array of at most ${MAX_REDACT_KEYS} non-empty strings`)
    }
    keys = [...(redactKeys as string[])]
  }
  if (intervalMs !== undefined && !(typeof intervalMs === 'number' && Number.isFinite(intervalMs) && intervalMs >= 10)) throw new TypeError('archive.intervalMs must be a number of at least 10')
  return { redactKeys: keys, ...(typeof intervalMs === 'number' ? { intervalMs } : {}) }
}

/**
 * The source of a monitored queue, or null for a driver with no record of finished jobs
 * (redis-list). Its id hashes where the queue lives, so every node of the service that monitors
 * the same queue shares one lease and one cursor.
 */
export function archiveSourceFor(redis: AgentRedis, name: string, driver: MonitoredDriver, options: MonitorQueueOptions | undefined): ArchiveSource | null {
  switch (driver) {
    case 'bullmq': {
      const prefix = options?.prefix ?? 'bull'
      return createBullmqSource(redis, name, prefix, sourceId('bullmq', prefix, name))
    }
    case 'laravel': {
      const horizonPrefix = options?.horizonPrefix ?? DEFAULT_HORIZON_PREFIX
      return createHorizonSource(redis, name, horizonPrefix, sourceId('horizon', horizonPrefix, name))
    }
    case 'redis-list':
      return null
  }
}

function sourceId(kind: string, prefix: string, queue: string): string {
  return `${kind}-${createHash('sha256').update(`${prefix}\u0000${queue}`).digest('hex').slice(0, 24)}`
}
