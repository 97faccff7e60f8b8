/**
 * The one client type the SDK is written against: a single ioredis `Redis` or an ioredis
 * `Cluster`. They share every command's signature and differ in what a Cluster refuses: a pipeline
 * or MULTI whose keys span hash slots. Code that pipelines several keys goes through
 * `SlotPipelines` (./slot-pipelines.ts) or `Batch` (./queues/pipeline.ts), which group by slot.
 */
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'

export type AgentRedis = Redis | Cluster

export function isCluster(redis: AgentRedis): redis is Cluster {
  return redis.isCluster
}

/** The group a command on `key` may share a pipeline with: its hash slot on a Cluster, one group on a single Redis. */
export function slotOf(redis: AgentRedis, key: string): number {
  return isCluster(redis) ? calculateSlot(key) : 0
}
