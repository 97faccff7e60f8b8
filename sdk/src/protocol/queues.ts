/**
 * Queue snapshot (seed 001): one JSON document per service at `queues:{service}`, plus the per-node
 * `queues` list inside a heartbeat.
 */
import { z } from 'zod'
import { nameSchema, queueNameSchema } from './names.js'

const count = z.number().int().finite().nonnegative()
const text = (max: number) => z.string().max(max)

export const QUEUE_DRIVERS = ['bullmq', 'laravel', 'redis-list', 'gravito-stream', 'laravel-horizon', 'sqs', 'other'] as const
export const queueDriverSchema = z.enum(QUEUE_DRIVERS)

export const queueMetricsSchema = z.object({
  waiting: count,
  active: count.nullable().optional(),
  delayed: count.optional(),
  failed: count.optional(),
  completed: count.optional(),
  /** jobs held because the queue is paused (BullMQ: `wait` + `prioritized` while `meta.paused` is set) */
  paused: count.optional(),
  /** the queue itself is paused: nothing is picked until it is resumed */
  isPaused: z.boolean().optional(),
  /** flow parents waiting for their children (BullMQ `waiting-children`); in no other count */
  waitingChildren: count.optional(),
  /** ms until the queue's rate limit lets workers pick jobs again (BullMQ `getRateLimitTtl`); absent when not limited */
  rateLimitedMs: count.optional(),
  /**
   * jobs finished (completed or failed) since some start, a counter that only grows: throughput
   * still shows when finished jobs are removed (BullMQ's `removeOnComplete`)
   */
  processed: count.optional(),
})

/** Limits on a failed job as reported by an agent; the SDK truncates to fit them. */
export const FAILED_JOB_LIMITS = { data: 4096, reason: 2048, stack: 8192, page: 50 } as const

export const failedJobSchema = z.object({
  id: text(256),
  name: text(256).optional(),
  failedReason: text(FAILED_JOB_LIMITS.reason).optional(),
  stacktrace: z.array(text(FAILED_JOB_LIMITS.stack)).max(10).optional(),
  attemptsMade: count.optional(),
  timestamp: z.number().finite().nonnegative().optional(),
  data: text(FAILED_JOB_LIMITS.data).optional(),
})

export const snapshotQueueSchema = z.object({
  name: queueNameSchema,
  /** the queue system's key prefix (BullMQ `prefix` option, Laravel's Redis prefix): with driver and name, the queue's identity */
  prefix: z.string().max(256).optional(),
  driver: queueDriverSchema,
  metrics: queueMetricsSchema,
  oldestWaitingMs: z.number().finite().nonnegative().optional(),
  error: text(512).optional(),
  failedJobs: z.array(failedJobSchema).max(FAILED_JOB_LIMITS.page).optional(),
  /**
   * the command types (COMMAND_TYPES) the reporting node executes for this queue; absent, a
   * reader offers none (bullmq and laravel excepted, for older agents). Unknown types are kept
   * here and dropped by the reader (`declaredCommands`), so a newer type never costs the entry
   */
  commands: z.array(z.string().max(64)).max(16).optional(),
  /** the node that executes this queue's commands, when the snapshot's `nodeId` is not it */
  nodeId: nameSchema.optional(),
})

export const queueSnapshotSchema = z.object({
  timestamp: z.number().finite().nonnegative(),
  service: nameSchema.optional(),
  /** seed 001 called the service `app`; accepted for older agents */
  app: nameSchema.optional(),
  nodeId: nameSchema.optional(),
  /** the queues live in the Redis this snapshot is written to (the console's); absent: not known */
  sharedRedis: z.boolean().optional(),
  queues: z.array(z.unknown()).max(500),
})

/** The short form carried in a heartbeat: counts only. */
export const nodeQueueSchema = z.object({
  name: queueNameSchema,
  driver: queueDriverSchema,
  metrics: queueMetricsSchema,
  error: text(512).optional(),
})

export type QueueDriver = z.infer<typeof queueDriverSchema>
export type QueueMetrics = z.infer<typeof queueMetricsSchema>
export type FailedJob = z.infer<typeof failedJobSchema>
export type SnapshotQueue = z.infer<typeof snapshotQueueSchema>
export type NodeQueue = z.infer<typeof nodeQueueSchema>

export interface QueueSnapshot {
  timestamp: number
  service?: string
  nodeId?: string
  sharedRedis?: boolean
  queues: SnapshotQueue[]
}
