/**
 * The one client type the console's Redis code is written against. A single ioredis `Redis` and
 * an ioredis `Cluster` both satisfy it: they share every command's signature, and differ in what
 * a Cluster refuses (a pipeline or MGET whose keys span hash slots, a SCAN that sees one shard).
 * Code that pipelines goes through `pipelineBySlot`, code that scans through `createShardScan`
 * (both in `./shards.ts`), so the same store runs on either.
 */
import type { Cluster, Redis } from 'ioredis'

export type RedisClient = Redis | Cluster

export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster
}
