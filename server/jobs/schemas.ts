/**
 * Requests of the jobs area. The page parses `q` itself, so a bad query re-renders the form with
 * its message (422); the API parses it in its schema, so a bad query is the one 400 of every API.
 */
import { z } from 'zod'
import { JOB_RECORD_LIMITS, nameSchema, queueNameSchema } from '@gravito/quasar/protocol'
import type { Clock } from '../clock.js'
import { parseJobQuery, QUERY_LIMITS } from './query.js'
import { decodeCursor } from './search.js'

export const JOBS_PAGE_SIZE = 50
export const MAX_JOBS_LIMIT = 200

const blankIsAbsent = (value: unknown) => (value === '' ? undefined : value)
// longer than the parser's bound, so an over-long query gets the parser's message
const queryText = z
  .string()
  .max(QUERY_LIMITS.chars * 4)
  .default('')
const cursorText = z.preprocess(blankIsAbsent, z.string().max(8192).optional())
const limit = z.preprocess(blankIsAbsent, z.coerce.number().int().min(1).max(MAX_JOBS_LIMIT).default(JOBS_PAGE_SIZE))

/** `/jobs?q=&cursor=` */
export const jobsPageQuerySchema = z.object({ q: queryText, cursor: cursorText, limit })

/** `GET /api/jobs?q=&cursor=&limit=`: `q` and `cursor` parsed here; relative times are read against `clock` */
export function jobsApiQuerySchema(clock: Clock) {
  return z.object({
    q: queryText.transform((text, context) => {
      const parsed = parseJobQuery(text, clock())
      if (parsed.ok) return { text, query: parsed.query }
      context.addIssue({ code: 'custom', message: parsed.error })
      return z.NEVER
    }),
    cursor: cursorText.transform((text, context) => {
      if (text === undefined) return null
      const position = decodeCursor(text)
      if (position) return position
      context.addIssue({ code: 'custom', message: 'not a cursor this search gave' })
      return z.NEVER
    }),
    limit,
  })
}

/** `/jobs/{service}/{queue}/{id}` and its API */
export const jobParamsSchema = z.object({ service: nameSchema, queue: queueNameSchema, jobId: z.string().min(1).max(JOB_RECORD_LIMITS.id) })
