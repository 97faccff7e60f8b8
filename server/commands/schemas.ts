/**
 * Shapes at the commands' boundaries: the API body and the forms (zod, so a type outside the
 * allowlist is a 400 before anything is sent), and what the console itself keeps in Redis (the
 * pending hash and the audit log), read back like any other Redis value.
 */
import { z } from 'zod'
import { COMMAND_ID_PATTERN, COMMAND_TYPES, JOB_COMMAND_TYPES, QUEUE_COMMAND_TYPES, commandProgressSchema, jobIdSchema, nameSchema, queueNameSchema, type CommandProgress } from '@gravito/quasar/protocol'

export const commandIdSchema = z.string().regex(COMMAND_ID_PATTERN, 'not a command id')

const target = {
  service: nameSchema,
  nodeId: nameSchema,
  queue: queueNameSchema,
}

/** POST /api/pulse/command: one job; queue-wide commands go through the confirmation forms */
export const commandRequestSchema = z.strictObject({
  ...target,
  type: z.enum(JOB_COMMAND_TYPES, { error: `type must be one of ${JOB_COMMAND_TYPES.join(', ')}` }),
  jobId: jobIdSchema,
})

export const commandParamsSchema = z.object({ id: commandIdSchema })

/** the confirmation a destructive form carries once the person said yes */
const confirmed = z.literal('yes', { error: 'confirm first' })

/** POST /commands/retry; also the query of GET /commands/delete (the confirmation step) */
export const jobFormSchema = z.object({ ...target, jobId: jobIdSchema })
export const deleteFormSchema = jobFormSchema.extend({ confirmed })
/** GET /commands/retry-all (the confirmation step) */
export const queueFormSchema = z.object(target)
/** "Retry all failed" of a queue without queue-wide commands sends at most this many per click. */
export const RETRY_ALL_CAP = 50
/**
 * POST /commands/retry-all: the jobs the confirmation listed (not a newer snapshot's) and the key
 * it was rendered with, so the same confirmation posted twice sends one batch.
 */
export const retryAllFormSchema = queueFormSchema.extend({
  confirmed,
  confirmation: commandIdSchema,
  jobId: z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(jobIdSchema).min(1, 'no job to retry').max(RETRY_ALL_CAP)),
})

const queueCommandType = z.enum(QUEUE_COMMAND_TYPES, { error: `type must be one of ${QUEUE_COMMAND_TYPES.join(', ')}` })
/** GET /commands/queue-action (the confirmation step of a queue-wide command) */
export const queueActionQuerySchema = queueFormSchema.extend({ type: queueCommandType })
/**
 * POST /commands/queue-action: what the person confirmed (the type, the failed count the
 * confirmation showed) and the key the confirmation was rendered with, so a second POST of the
 * same confirmation (a double click, a resubmitted form) sends nothing new.
 */
export const queueActionFormSchema = queueActionQuerySchema.extend({
  countSeen: z.coerce.number().int().nonnegative().max(1e12).optional(),
  confirmation: commandIdSchema,
  confirmed,
})

/** `?service=` on /audit; the "all" option submits an empty value */
export const auditQuerySchema = z.object({
  service: z.preprocess((value) => (value === '' ? undefined : value), nameSchema.optional()),
})

// ---- what the console keeps in Redis ----------------------------------------------------------

export const FINAL_STATUSES = ['ok', 'failed', 'rejected', 'expired'] as const
export type FinalStatus = (typeof FINAL_STATUSES)[number]
export type CommandStatus = 'pending' | FinalStatus

/** A sent command, as recorded in the pending hash when it is sent. */
export const sentCommandSchema = z.object({
  id: commandIdSchema,
  type: z.enum(COMMAND_TYPES),
  service: nameSchema,
  nodeId: nameSchema,
  queue: queueNameSchema,
  jobId: jobIdSchema,
  /** the username of whoever sent it (`api-token` for the API token, `anonymous` when open) */
  sentBy: z.string().min(1).max(256),
  sentAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().nonnegative(),
  /** the "retry all failed" click it belongs to */
  batch: commandIdSchema.optional(),
  /** queue-wide commands: the failed count the person confirmed, when the queue reported one */
  countSeen: z.number().int().nonnegative().optional(),
  /** queue-wide commands: the key of the confirmation that sent it */
  confirmation: commandIdSchema.optional(),
})
export type SentCommand = z.infer<typeof sentCommandSchema>

/** A finished command: one entry of the audit log. */
export const finishedCommandSchema = sentCommandSchema.extend({
  status: z.enum(FINAL_STATUSES),
  /** queue-wide commands: the agent's final counts */
  progress: commandProgressSchema.optional(),
  reason: z.string().max(512).optional(),
  finishedAt: z.number().int().nonnegative(),
})
export type FinishedCommand = z.infer<typeof finishedCommandSchema>

/** A command not finished yet; a queue-wide one may carry the progress its agent last wrote. */
export type PendingCommand = SentCommand & { status: 'pending'; progress?: CommandProgress }

/** What every view of a command shows. */
export type CommandRecord = PendingCommand | FinishedCommand
