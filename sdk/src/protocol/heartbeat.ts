/**
 * Heartbeat payload: seed fields plus the optional fields of protocol v1. The schema describes
 * what a conforming agent writes; `readHeartbeat` is how the console reads what any agent wrote.
 */
import { z } from 'zod'
import { readFields, type FieldRules } from './field-reader.js'
import { readHeartbeatQueues, type ReadQueue } from './queue-reader.js'
import { nodeQueueSchema } from './queues.js'
import { createSkipList, isPlainObject, type Skip } from './skips.js'
import { toMillis } from './timestamps.js'

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

/** Each nested field may be missing on its own: a bad `cpu.system` costs nothing else of `cpu`. */
type FieldByField<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? FieldByField<T[K]> : T[K] }

/** What the console keeps of a heartbeat: every field but the timestamp may be missing. */
export type PartialHeartbeat = Omit<FieldByField<Heartbeat>, 'timestamp' | 'queues'> & { timestamp: number; queues?: ReadQueue[] }

export type HeartbeatRead =
  | {
      ok: true
      value: PartialHeartbeat
      /** what was dropped, clamped or cut, at most MAX_SKIPS */
      skipped: Skip[]
      skippedTotal: number
      /** the timestamp was written in seconds and has been read as such (`value.timestamp` is ms) */
      secondsTimestamp: boolean
      /** queue entries came in the original Gravito Quasar agent's shape */
      legacyQueues: boolean
    }
  | { ok: false; error: string }

/**
 * Percentages out of 0..100 are clamped, not dropped: psutil's per-process CPU passes 100 on a
 * multi-threaded process (it counts each core), and a system reading of 100.4 is rounding. Texts
 * over 256 characters are cut.
 */
const RULES: FieldRules = {
  clamped: new Set<z.ZodType>([percent]),
  cut: new Set<z.ZodType>([shortText]),
  except: new Set(['timestamp', 'queues']),
}

/**
 * Reads a parsed JSON value as a heartbeat, field by field down to the leaves: a field of the wrong
 * shape is dropped, a percentage out of range clamped, a long text cut, one bad queue entry dropped
 * alone, each named in `skipped`, so one bad field never hides the rest of the node. Only a missing
 * or invalid `timestamp` rejects the whole beat, because health cannot be judged without it; one
 * written in seconds is read as seconds. Unknown fields, `__proto__` included, are never copied.
 */
export function readHeartbeat(input: unknown): HeartbeatRead {
  if (!isPlainObject(input)) return { ok: false, error: 'heartbeat is not a JSON object' }
  const stamp = heartbeatSchema.shape.timestamp.safeParse(input.timestamp)
  if (!stamp.success) return { ok: false, error: 'timestamp is missing or not a finite number' }
  const { ms, seconds } = toMillis(stamp.data)
  // fast path: a conforming beat validates in one pass; field-by-field only for the rest
  const whole = heartbeatSchema.safeParse(input)
  if (whole.success) return { ok: true, value: { ...whole.data, timestamp: ms }, skipped: [], skippedTotal: 0, secondsTimestamp: seconds, legacyQueues: false }

  const skips = createSkipList()
  const value = readFields(heartbeatSchema.shape, input, '', skips, RULES) as PartialHeartbeat
  value.timestamp = ms
  let legacyQueues = false
  if (Object.hasOwn(input, 'queues')) {
    const queues = readHeartbeatQueues(input.queues, skips)
    if (queues) {
      value.queues = queues
      legacyQueues = queues.some((queue) => queue.legacy)
    }
  }
  return { ok: true, value, skipped: skips.list, skippedTotal: skips.total, secondsTimestamp: seconds, legacyQueues }
}
