/**
 * The queue systems the console finds on its own, in the order their walks run and their queues
 * are listed. A new driver: one file beside this one implementing ./contract.ts, one line here.
 */
import type { QueueDriver } from '@gravito/quasar/protocol'
import { bullmqDriver } from './bullmq.js'
import type { DiscoveryDriver } from './contract.js'
import { laravelDriver } from './laravel.js'

export const DISCOVERY_DRIVERS: readonly DiscoveryDriver[] = [bullmqDriver, laravelDriver]

export function discoveryDriver(driver: QueueDriver, drivers: readonly DiscoveryDriver[] = DISCOVERY_DRIVERS): DiscoveryDriver {
  const found = drivers.find((candidate) => candidate.driver === driver)
  if (!found) throw new Error(`no discovery driver for ${driver}`)
  return found
}
