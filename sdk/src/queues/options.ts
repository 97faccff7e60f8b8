/**
 * `monitorQueue` input, checked when it is called: a wrong name, driver or option is a programming
 * error and throws a TypeError at once, like the agent's constructor, instead of surfacing as a
 * probe error ten seconds later.
 */
import type { AgentRedis } from '../client.js'
import { FAILED_JOB_LIMITS, isValidQueueName, QUEUE_NAME_MAX } from '../protocol/index.js'
import type { QueueProbe } from './probe.js'
import { createBullmqProbe } from './bullmq.js'
import { createLaravelProbe, DEFAULT_HORIZON_PREFIX } from './laravel.js'
import { createRedisListProbe } from './redis-list.js'
import { DEFAULT_FAILED_PAGE } from './limits.js'

/** The drivers the SDK can probe (the protocol names more, for other agents). */
export const MONITORED_DRIVERS = ['bullmq', 'laravel', 'redis-list'] as const
export type MonitoredDriver = (typeof MONITORED_DRIVERS)[number]

export interface MonitorQueueOptions {
  /** bullmq: BullMQ's key prefix (default `bull`); laravel: the Redis connection's key prefix, e.g. `laravel_database_` (default none) */
  prefix?: string
  /** laravel: Horizon's key prefix, config `horizon.prefix` (default `laravel_horizon:`) */
  horizonPrefix?: string
  /** redis-list: the list's key (default: the queue name) */
  key?: string
  /** bullmq, laravel: how many of the newest failed jobs each snapshot carries, 0 to 50 (default 20) */
  failedPageSize?: number
}

const ALLOWED: Record<MonitoredDriver, readonly (keyof MonitorQueueOptions)[]> = {
  bullmq: ['prefix', 'failedPageSize'],
  laravel: ['prefix', 'horizonPrefix', 'failedPageSize'],
  'redis-list': ['key'],
}

const PREFIX_LIMIT = 256
const KEY_LIMIT = 1024

export function createProbe(redis: AgentRedis, name: unknown, driver: unknown, options: unknown): QueueProbe {
  if (!isValidQueueName(name)) throw new TypeError(`queue name must be a string of 1 to ${QUEUE_NAME_MAX} characters without control characters, got ${show(name)}`)
  if (!MONITORED_DRIVERS.includes(driver as MonitoredDriver)) {
    throw new TypeError(`queue driver must be one of ${MONITORED_DRIVERS.join(', ')}, got ${show(driver)}`)
  }
  const kind = driver as MonitoredDriver
  const given = checkedOptions(options, kind)
  const failedPageSize = given.failedPageSize ?? DEFAULT_FAILED_PAGE
  switch (kind) {
    case 'bullmq':
      return createBullmqProbe(name, { redis, prefix: given.prefix ?? 'bull', failedPageSize })
    case 'laravel':
      return createLaravelProbe(name, {
        redis,
        prefix: given.prefix ?? '',
        horizonPrefix: given.horizonPrefix ?? DEFAULT_HORIZON_PREFIX,
        failedPageSize,
      })
    case 'redis-list':
      return createRedisListProbe(name, { redis, key: given.key ?? name })
  }
}

function checkedOptions(options: unknown, driver: MonitoredDriver): MonitorQueueOptions {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError('queue options must be an object')
  const record = options as Record<string, unknown>
  for (const field of Object.keys(record)) {
    if (record[field] === undefined) continue
    if (!(ALLOWED[driver] as readonly string[]).includes(field)) {
      throw new TypeError(`option ${JSON.stringify(field)} does not apply to the ${driver} driver (allowed: ${ALLOWED[driver].join(', ')})`)
    }
  }
  const { prefix, horizonPrefix, key, failedPageSize } = record
  if (prefix !== undefined) checkString('prefix', prefix, driver === 'bullmq' ? 1 : 0, PREFIX_LIMIT)
  if (horizonPrefix !== undefined) checkString('horizonPrefix', horizonPrefix, 0, PREFIX_LIMIT)
  if (key !== undefined) checkString('key', key, 1, KEY_LIMIT)
  if (failedPageSize !== undefined && !(Number.isInteger(failedPageSize) && (failedPageSize as number) >= 0 && (failedPageSize as number) <= FAILED_JOB_LIMITS.page)) {
    throw new TypeError(`failedPageSize must be an integer from 0 to ${FAILED_JOB_LIMITS.page}, got ${show(failedPageSize)}`)
  }
  return record
}

function checkString(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    throw new TypeError(`${field} must be a string of ${min} to ${max} characters, got ${show(value)}`)
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object'
  return String(value)
}
