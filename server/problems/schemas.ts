import { z } from 'zod'

/** `?sort=newest` (one list, last seen first) or `?sort=key` (grouped by key); blank is the default. */
export const problemsQuerySchema = z.object({
  sort: z.preprocess((value) => (value === '' ? undefined : value), z.enum(['newest', 'key']).default('newest')),
})

export type ProblemsQuery = z.infer<typeof problemsQuerySchema>
