import { z } from 'zod'
import { nameSchema } from '@gravito/quasar/protocol'
import { SLOW_RANGES } from './windows.js'

/** `?service=&kind=&range=`; the "all" options submit empty values; no range is the default window (windows.ts). */
const blankIsAbsent = (value: unknown) => (value === '' ? undefined : value)

export const slowQuerySchema = z.object({
  service: z.preprocess(blankIsAbsent, nameSchema.optional()),
  kind: z.preprocess(blankIsAbsent, z.enum(['request', 'job']).optional()),
  range: z.preprocess(blankIsAbsent, z.enum(SLOW_RANGES).optional()),
})
