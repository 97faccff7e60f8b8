/**
 * What the console knows about one kind of queue system it finds in its own Redis without an
 * agent: which keys reveal a queue, how a queue's prefix reads as a service, and how its counts are
 * read. The console-side sibling of the SDK's `QueueProbe` (sdk/src/queues/probe.ts): the scanner
 * and the queues part only ever talk to this contract, so a new driver is one file here plus one
 * line in ./registry.ts. Key layouts and counting rules stay in the SDK's layout module
 * (`@gravito/quasar/layouts`), so an agent and the console read a queue alike.
 */
import type { QueueDriver } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../../collector/bad-data-log.js'
import type { RedisClient } from '../../redis/client.js'
import type { QueueRecord } from '../records.js'

/**
 * A discovered queue's identity within the console's Redis: its driver, the queue system's key
 * prefix (`bull`, `{bull}`, `app:bull`, `laravel_database_`) and its name, each as found.
 */
export interface DiscoveredRef {
  readonly driver: QueueDriver
  readonly prefix: string
  readonly queue: string
}

/** What a driver measured of one queue: the record's counts, null where it cannot count. */
export type DiscoveredCounts = Pick<QueueRecord, 'waiting' | 'active' | 'delayed' | 'failed'> &
  Partial<Pick<QueueRecord, 'completed' | 'paused' | 'isPaused' | 'waitingChildren' | 'rateLimitedMs' | 'processed' | 'oldestWaitingMs' | 'failedJobs'>>

/** Reads the counts of found queues; a queue left out of the answer was unreadable and is skipped (the reader reports why). */
export type DiscoveredReader = (refs: readonly DiscoveredRef[], now: number) => Promise<Map<DiscoveredRef, DiscoveredCounts>>

export interface DiscoveryDriver {
  readonly driver: QueueDriver
  /** SCAN MATCH pattern of the keys that reveal this driver's queues: one walk per pattern */
  readonly pattern: string
  /** the queue a found key reveals, or null when the key is not one of this driver's */
  refOf(key: string): { prefix: string; queue: string } | null
  /** the service a queue with this key prefix is shown under (made unique among drivers later) */
  serviceOf(prefix: string): string
  createReader(redis: RedisClient, badData: BadDataLog): DiscoveredReader
}
