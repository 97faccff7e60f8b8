import { z } from 'zod'
import { nameSchema } from '@gravito/quasar/protocol'

/** `?service=&kind=`; the "all" options submit empty values. */
const blankIsAbsent = (value: unknown) => (value === '' ? undefined : value)

export const slowQuerySchema = z.object({
  service: z.preprocess(blankIsAbsent, nameSchema.optional()),
  kind: z.preprocess(blankIsAbsent, z.enum(['request', 'job']).optional()),
})
