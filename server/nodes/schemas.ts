import { z } from 'zod'
import { nameSchema } from '@gravito/quasar/protocol'

/** `?service=` filter; the "all services" option of the filter form submits an empty value. */
export const pulseQuerySchema = z.object({
  service: z.preprocess((value) => (value === '' ? undefined : value), nameSchema.optional()),
})
