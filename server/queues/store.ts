/**
 * The queues area's Redis I/O, behind one door: the discovery walk (./discovery.ts), the agents'
 * queue snapshots (./agent-reader.ts) and each discovery driver's reader (./drivers/). Every one
 * of them pipelines by slot and scans every shard, so the area runs on a single Redis or a
 * Cluster alike. The collector part composes these reads and never sends a command itself.
 */
import type { ReadQueueSnapshot } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { RedisClient } from '../redis/client.js'
import type { ConsoleKeys } from '../redis/keys.js'
import { createAgentSnapshotReader } from './agent-reader.js'
import { createQueueScanner, type ScannerOptions } from './discovery.js'
import type { DiscoveredCounts, DiscoveredRef } from './drivers/contract.js'
import { DISCOVERY_DRIVERS } from './drivers/registry.js'

export interface QueueStore {
  /** the discovery walk: one tick's share of the pass, and what the passes found */
  readonly discovery: ReturnType<typeof createQueueScanner>
  /** the agents' snapshots of these services, parsed; a bad or missing key is left out (and logged) */
  readSnapshots(services: readonly string[]): Promise<Map<string, ReadQueueSnapshot>>
  /** each driver's counts of its found queues, one reading per driver in the registry's order */
  readDiscovered(refs: readonly DiscoveredRef[], now: number): Promise<Map<DiscoveredRef, DiscoveredCounts>[]>
}

export function createQueueStore(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog, options: ScannerOptions = {}): QueueStore {
  const readers = (options.drivers ?? DISCOVERY_DRIVERS).map((driver) => ({ driver: driver.driver, read: driver.createReader(redis, badData) }))
  return {
    discovery: createQueueScanner(redis, keys, badData, options),
    readSnapshots: createAgentSnapshotReader(redis, keys, badData),
    readDiscovered: (refs, now) =>
      Promise.all(
        readers.map(({ driver, read }) =>
          read(
            refs.filter((ref) => ref.driver === driver),
            now,
          ),
        ),
      ),
  }
}
