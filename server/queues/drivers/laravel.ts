/** Laravel queues, found by their `{prefix}queues:{queue}` list (or its sets) and read by ../laravel-reader.ts. */
import { isValidName, validNameFrom } from '@gravito/quasar/protocol'
import { LARAVEL_PATTERN, parseLaravelKey } from '../../redis/keys.js'
import { createLaravelReader } from '../laravel-reader.js'
import type { DiscoveredCounts, DiscoveredReader, DiscoveredRef, DiscoveryDriver } from './contract.js'

export const laravelDriver: DiscoveryDriver = {
  driver: 'laravel',
  pattern: LARAVEL_PATTERN,
  refOf: parseLaravelKey,
  // the prefix loses its trailing separator (`laravel_database_` → `laravel_database`); no prefix is `laravel`
  serviceOf(prefix) {
    const trimmed = prefix.replace(/[_.:-]+$/, '')
    if (trimmed === '') return prefix === '' ? 'laravel' : validNameFrom(prefix)
    return isValidName(trimmed) ? trimmed : validNameFrom(prefix)
  },
  createReader(redis, badData): DiscoveredReader {
    const read = createLaravelReader(redis, badData)
    return async (refs, now) => {
      const counts = new Map<DiscoveredRef, DiscoveredCounts>()
      // failed jobs live in the application's database, out of reach: unknown, never a zero
      for (const [ref, reading] of await read(refs, now)) counts.set(ref, { failed: null, ...reading })
      return counts
    }
  },
}
