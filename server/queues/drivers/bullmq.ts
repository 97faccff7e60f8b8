/** BullMQ queues, found by their `{prefix}:{queue}:meta` hash and read by ../bullmq-reader.ts. */
import { validNameFrom } from '@gravito/quasar/protocol'
import { BULLMQ_META_PATTERN, parseBullmqMeta } from '../../redis/keys.js'
import { createBullmqReader } from '../bullmq-reader.js'
import type { DiscoveryDriver } from './contract.js'

export const bullmqDriver: DiscoveryDriver = {
  driver: 'bullmq',
  pattern: BULLMQ_META_PATTERN,
  refOf: parseBullmqMeta,
  // a prefix that is a valid name is its own service (`bull`); any other is cleaned and tagged
  // with its hash (`{bull}` → `bull-…`, `app:bull` → `app-bull-…`), so distinct prefixes stay distinct
  serviceOf: (prefix) => validNameFrom(prefix),
  createReader: createBullmqReader,
}
