import { z } from 'zod'
import { nameSchema } from '@gravito/quasar/protocol'

/** `?service=` filter of the JSON API; the "all services" option of a form submits an empty value. */
export const pulseQuerySchema = z.object({
  service: z.preprocess((value) => (value === '' ? undefined : value), nameSchema.optional()),
})

export const HEALTH_FILTERS = ['dead', 'stale', 'alerting', 'fresh'] as const
export type HealthFilter = (typeof HEALTH_FILTERS)[number]

/**
 * `?health=dead,stale` as a link writes it, or `?health=dead&health=stale` as a form's checkboxes
 * do: one list either way, in one order, without repeats, so equal filters share one cached render.
 */
const healthListSchema = z.preprocess(
  (value) => {
    const items: unknown[] = Array.isArray(value) ? value : [value]
    const parts = items.flatMap((item): unknown[] => (typeof item === 'string' ? item.split(',') : [item]))
    const named = parts.filter((part) => part !== '' && part !== undefined)
    return named.length === 0 ? undefined : named
  },
  z
    .array(z.enum(HEALTH_FILTERS))
    .max(HEALTH_FILTERS.length * 4)
    .transform((list) => HEALTH_FILTERS.filter((health) => list.includes(health)))
    .optional(),
)

/** The /pulse page and its polled fragment: every field is in the URL, so each view is a link. */
export const pulsePageQuerySchema = pulseQuerySchema.extend({
  /** case-insensitive substring of service, node id, hostname or version */
  q: z.preprocess((value) => (typeof value === 'string' ? value.trim() || undefined : value), z.string().max(100).optional()),
  health: healthListSchema,
  view: z.preprocess((value) => (value === '' ? undefined : value), z.enum(['cards', 'table']).default('cards')),
  page: z.preprocess((value) => (value === '' ? undefined : value), z.coerce.number().int().min(1).max(100_000).default(1)),
})

export type PulsePageQuery = z.infer<typeof pulsePageQuerySchema>
