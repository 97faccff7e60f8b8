import { z } from 'zod'
import { nameSchema, queueDriverSchema } from '@gravito/quasar/protocol'
import { RANGES } from '../history/metrics.js'

/** The filter form's "all" options submit empty values. */
const blankIsAbsent = (value: unknown) => (value === '' ? undefined : value)

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

const pageNumber = z.preprocess(blankIsAbsent, z.coerce.number().int().min(1).max(10_000).default(1))

/** the queue page: `?page=` of failed jobs, `?range=` of the history charts */
export const queuePageQuerySchema = z.object({
  page: pageNumber,
  range: z.preprocess(blankIsAbsent, z.enum(RANGES).default('1h')),
})

/** `GET /api/pulse/queues/{service}/{queue}/jobs?state=failed`: failed jobs are the only state kept */
export const jobsQuerySchema = z.object({
  state: z.preprocess(blankIsAbsent, z.enum(['failed']).default('failed')),
})
