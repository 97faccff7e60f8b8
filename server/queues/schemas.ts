import { z } from 'zod'
import { nameSchema, queueDriverSchema } from '@gravito/quasar/protocol'
import { RANGES } from '../history/metrics.js'
import { LIVE_JOB_STATES } from './live-jobs.js'

/** The filter form's "all" options submit empty values. */
const blankIsAbsent = (value: unknown) => (value === '' ? undefined : value)

const pageNumber = z.preprocess(blankIsAbsent, z.coerce.number().int().min(1).max(10_000).default(1))

export const QUEUE_SORTS = ['service', 'name', 'driver', 'waiting', 'active', 'delayed', 'failed', 'throughput', 'oldest'] as const
export type QueueSort = (typeof QUEUE_SORTS)[number]
export type SortDir = 'asc' | 'desc'

/** `/queues`, its fragment and `/api/pulse/queues`: `?service=&driver=&sort=&dir=` */
export const queuesQuerySchema = z.object({
  service: z.preprocess(blankIsAbsent, nameSchema.optional()),
  driver: z.preprocess(blankIsAbsent, queueDriverSchema.optional()),
  sort: z.preprocess(blankIsAbsent, z.enum(QUEUE_SORTS).default('service')),
  dir: z.preprocess(blankIsAbsent, z.enum(['asc', 'desc']).optional()),
})

export type QueuesQuery = z.infer<typeof queuesQuerySchema>

/** the queue page: `?page=` of failed jobs, `?range=` of the history charts, `?jobs=&jobsPage=` of the jobs region */
export const queuePageQuerySchema = z.object({
  page: pageNumber,
  range: z.preprocess(blankIsAbsent, z.enum(RANGES).default('1h')),
  jobs: z.preprocess(blankIsAbsent, z.enum(LIVE_JOB_STATES).default('waiting')),
  jobsPage: pageNumber,
})

/**
 * `GET /api/pulse/queues/{service}/{queue}/jobs?state=&page=`. Without `page`, `failed` answers the
 * snapshot's newest failed jobs as it always has (with their bounded data and stacks); with a
 * page, or any other state, a page of live jobs (never payloads).
 */
export const jobsQuerySchema = z.object({
  state: z.preprocess(blankIsAbsent, z.enum(LIVE_JOB_STATES).default('failed')),
  page: z.preprocess(blankIsAbsent, z.coerce.number().int().min(1).max(10_000).optional()),
})

/** the queue page's jobs region: `?state=&page=` */
export const liveJobsQuerySchema = z.object({
  state: z.preprocess(blankIsAbsent, z.enum(LIVE_JOB_STATES).default('waiting')),
  page: pageNumber,
})
