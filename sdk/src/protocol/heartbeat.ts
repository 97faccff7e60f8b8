/**
 * Heartbeat payload: seed fields plus the optional fields of protocol v1. The schema describes
 * what a conforming agent writes; `readHeartbeat` is how the console reads what any agent wrote.
 */
import { z } from 'zod'
import { nodeQueueSchema } from './queues.js'

const shortText = z.string().max(256)
const count = z.number().finite().nonnegative()
const percent = z.number().finite().min(0).max(100)

export const LANGUAGES = ['node', 'bun', 'deno', 'php', 'go', 'python', 'other'] as const
export const languageSchema = z.enum(LANGUAGES)

export const heartbeatSchema = z.object({
  id: shortText,
  service: shortText,
  language: languageSchema,
  version: shortText,
  pid: z.number().int().nonnegative(),
  hostname: shortText,
  platform: shortText,
  cpu: z.object({ system: percent, process: percent, cores: count }),
  memory: z.object({
    system: z.object({ total: count, free: count, used: count }),
    process: z.object({ rss: count, heapTotal: count, heapUsed: count }),
  }),
  runtime: z.object({ uptime: count, framework: shortText.optional() }),
  timestamp: z.number().finite().nonnegative(),
  eventLoop: z.object({ lagMs: count, p99Ms: count }).optional(),
  disk: z.object({ path: shortText, total: count, free: count }).optional(),
  appVersion: shortText.optional(),
  queues: z.array(nodeQueueSchema).max(100).optional(),
  protocol: z.number().int().positive().optional(),
})

export type Heartbeat = z.infer<typeof heartbeatSchema>

/** What the console keeps of a heartbeat: every field but the timestamp may be missing. */
export type PartialHeartbeat = Partial<Heartbeat> & { timestamp: number }

export type ReadResult<T> =
  | { ok: true; value: T; skipped: string[] }
  | { ok: false; error: string }

/**
 * Reads a parsed JSON value as a heartbeat, field by field: a field of the wrong shape is dropped
 * (and named in `skipped`) so one bad field never hides the rest of the node. Only a missing or
 * invalid `timestamp` rejects the whole beat, because health cannot be judged without it.
 * Unknown fields, `__proto__` included, are never copied.
 */
export function readHeartbeat(input: unknown): ReadResult<PartialHeartbeat> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: 'heartbeat is not a JSON object' }
  }
  // fast path: a conforming beat validates in one pass; field-by-field only for the rest
  const whole = heartbeatSchema.safeParse(input)
  if (whole.success) return { ok: true, value: whole.data, skipped: [] }

  const record = input as Record<string, unknown>
  const timestamp = heartbeatSchema.shape.timestamp.safeParse(record.timestamp)
  if (!timestamp.success) return { ok: false, error: 'timestamp is missing or not a finite number' }

  const value: Record<string, unknown> = { timestamp: timestamp.data }
  const skipped: string[] = []
  for (const [field, schema] of Object.entries(heartbeatSchema.shape)) {
    if (field === 'timestamp' || !Object.hasOwn(record, field)) continue
    const parsed = schema.safeParse(record[field])
    if (parsed.success) {
      if (parsed.data !== undefined) value[field] = parsed.data
    } else {
      skipped.push(field)
    }
  }
  return { ok: true, value: value as PartialHeartbeat, skipped }
}
