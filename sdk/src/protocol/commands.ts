/**
 * Commands from the console to one node's agent. The console appends a signed
 * command to the node's stream `cmd:{service}:{nodeId}` (durable: an agent that was away reads it
 * when it returns) and publishes the id on the channel of the same name (a wake-up, nothing more).
 * The agent verifies it, marks its id as seen (`SET NX`, so it runs at most once), executes it and
 * writes the outcome to `cmdres:{service}:{id}`.
 *
 * The signature is HMAC-SHA256 over every field that decides what runs where, keyed with a key
 * derived from QUASAR_TOKEN (so the token itself is never used directly as a MAC key elsewhere).
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { nameSchema, queueNameSchema } from './names.js'
import { parseAgentJson } from './json.js'

/** The only command types an agent executes; anything else is rejected and reported. */
export const COMMAND_TYPES = ['RETRY_JOB', 'DELETE_JOB', 'RETRY_ALL_FAILED', 'DELETE_ALL_FAILED'] as const
export type CommandType = (typeof COMMAND_TYPES)[number]

/** Types that act on one job, named by `jobId`. */
export const JOB_COMMAND_TYPES = ['RETRY_JOB', 'DELETE_JOB'] as const
export type JobCommandType = (typeof JOB_COMMAND_TYPES)[number]

/**
 * Types that act on every failed job of the queue: the agent pages through the queue's failed set
 * itself, at its own pace, and reports progress in the result. Their `jobId` is ALL_FAILED_JOB_ID.
 */
export const QUEUE_COMMAND_TYPES = ['RETRY_ALL_FAILED', 'DELETE_ALL_FAILED'] as const
export type QueueCommandType = (typeof QUEUE_COMMAND_TYPES)[number]

/**
 * The `jobId` of a queue-wide command. Signed like any jobId, so the canonical string keeps its
 * nine lines and an agent that knows only the job types parses the command and refuses its type.
 */
export const ALL_FAILED_JOB_ID = '*'

export function isQueueCommandType(value: unknown): value is QueueCommandType {
  return typeof value === 'string' && (QUEUE_COMMAND_TYPES as readonly string[]).includes(value)
}

export function isCommandType(value: unknown): value is CommandType {
  return typeof value === 'string' && (COMMAND_TYPES as readonly string[]).includes(value)
}

/**
 * Requests that change nothing (./list-jobs.ts): signed and paced like commands, declared in a
 * queue's `commands` like them, but never offered as an action, audited, or counted as pending.
 */
export const READ_COMMAND_TYPES = ['LIST_JOBS'] as const
export type ReadCommandType = (typeof READ_COMMAND_TYPES)[number]

export function isReadCommandType(value: unknown): value is ReadCommandType {
  return typeof value === 'string' && (READ_COMMAND_TYPES as readonly string[]).includes(value)
}

/**
 * A queue entry's `commands` as a reader uses them: known types once each, in allowlist order,
 * the read requests apart, and the unknown ones apart so the reader can say it skipped them.
 */
export function declaredCommands(declared: readonly string[]): { commands: CommandType[]; reads: ReadCommandType[]; unknown: string[] } {
  const unknown = [...new Set(declared.filter((type) => !isCommandType(type) && !isReadCommandType(type)))]
  return { commands: COMMAND_TYPES.filter((type) => declared.includes(type)), reads: READ_COMMAND_TYPES.filter((type) => declared.includes(type)), unknown }
}

/**
 * What the console publishes on a node's channel after adding commands to its stream. Agents
 * must treat any message on the channel as a wake-up (older consoles publish the bare word
 * `wake`); the JSON form lets a subscriber that parses every message do so without an error.
 */
export const WAKE_UP_MESSAGE = JSON.stringify({ type: 'wake' })

/**
 * Shortest QUASAR_TOKEN the console and the SDK accept. Commands are signed with a key derived
 * from it, so a short token is a guessable key: the console refuses to start with one, the SDK
 * leaves commands off and says why.
 */
export const QUASAR_TOKEN_MIN_LENGTH = 16

/** How long a command may wait for its agent before it expires (ms). */
export const COMMAND_TTL_MS = 10 * 60_000
/** Clock difference tolerated between the console and an agent (ms). */
export const COMMAND_CLOCK_SKEW_MS = 5 * 60_000
/** How long results and replay marks are kept (seconds); longer than any command lives. */
export const COMMAND_RESULT_TTL_SECONDS = 24 * 60 * 60
/** Approximate cap on each node's command stream (`XADD MAXLEN ~`). */
export const COMMAND_STREAM_MAXLEN = 1000
/** The stream field that holds the command's JSON. */
export const COMMAND_FIELD = 'command'

export const COMMAND_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/
export const jobIdSchema = z.string().min(1).max(256)

/** The command as it travels: JSON in the stream entry's `command` field. */
export const signedCommandSchema = z.object({
  v: z.literal(1),
  id: z.string().regex(COMMAND_ID_PATTERN),
  /** checked against the allowlist after parsing, so an unknown type is reported, not dropped */
  type: z.string().min(1).max(64),
  service: nameSchema,
  nodeId: nameSchema,
  queue: queueNameSchema,
  jobId: jobIdSchema,
  issuedAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().nonnegative(),
  signature: z.string().regex(/^[0-9a-f]{64}$/),
})

export type SignedCommand = z.infer<typeof signedCommandSchema>
export type UnsignedCommand = Omit<SignedCommand, 'signature'>

export const COMMAND_OUTCOMES = ['ok', 'failed', 'rejected'] as const
export type CommandOutcome = (typeof COMMAND_OUTCOMES)[number]
/** A queue-wide command's result while the agent is still paging through the queue: not final. */
export const COMMAND_RUNNING = 'running'

const count = z.number().int().nonnegative().max(1e12)

/**
 * How far a queue-wide command got: `total` failed jobs when it started, `done` acted on,
 * `errors` that could not be (locked by a worker, gone meanwhile…).
 */
export const commandProgressSchema = z.object({ done: count, total: count, errors: count })
export type CommandProgress = z.infer<typeof commandProgressSchema>

/**
 * Written by the agent to `cmdres:{service}:{id}` (JSON, `EX COMMAND_RESULT_TTL_SECONDS`). A
 * queue-wide command writes `running` with its progress after each page, then its final outcome
 * with the final counts; `finishedAt` is when the record was written.
 */
export const commandResultSchema = z.object({
  id: z.string().regex(COMMAND_ID_PATTERN),
  status: z.enum([...COMMAND_OUTCOMES, COMMAND_RUNNING]),
  progress: commandProgressSchema.optional(),
  /** why it failed or was rejected; one line */
  reason: z.string().max(512).optional(),
  service: nameSchema,
  nodeId: nameSchema,
  finishedAt: z.number().nonnegative(),
})

export type CommandResult = z.infer<typeof commandResultSchema>

/** The MAC key: derived from the shared token so the raw token is not the key. */
function commandKey(token: string): Buffer {
  return createHmac('sha256', token).update('quasar-commands-v1').digest()
}

/** Every field that decides what runs where, in a fixed order, one per line. */
function canonical(command: UnsignedCommand): string {
  return [command.v, command.id, command.type, command.service, command.nodeId, command.queue, command.jobId, command.issuedAt, command.expiresAt].join('\n')
}

export function signCommand(command: UnsignedCommand, token: string): SignedCommand {
  const signature = createHmac('sha256', commandKey(token)).update(canonical(command)).digest('hex')
  return { ...command, signature }
}

export function hasValidSignature(command: SignedCommand, token: string): boolean {
  const expected = Buffer.from(signCommand(command, token).signature, 'hex')
  const given = Buffer.from(command.signature, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

export type CommandCheck =
  | { ok: true; command: SignedCommand & { type: CommandType | ReadCommandType } }
  /** `id` is known when the entry parsed far enough to report the rejection against it */
  | { ok: false; reason: string; id?: string }

/**
 * Everything an agent checks before it runs a command, except the replay guard (which needs
 * Redis). Never throws: any input gives a verdict.
 */
export function checkCommand(raw: unknown, expect: { token: string | undefined; service: string; nodeId: string; now: number }): CommandCheck {
  if (typeof raw !== 'string') return { ok: false, reason: 'no command field' }
  const json = parseAgentJson(raw, 8192)
  if (!json.ok) return { ok: false, reason: json.error }
  const parsed = signedCommandSchema.safeParse(json.value)
  if (!parsed.success) {
    const id = (json.value as { id?: unknown } | null)?.id
    return typeof id === 'string' && COMMAND_ID_PATTERN.test(id) ? { ok: false, reason: 'malformed command', id } : { ok: false, reason: 'malformed command' }
  }
  const command = parsed.data
  const id = command.id
  if (!expect.token) return { ok: false, reason: 'agent has no QUASAR_TOKEN; commands are disabled', id }
  if (!hasValidSignature(command, expect.token)) return { ok: false, reason: 'bad signature', id }
  if (command.service !== expect.service || command.nodeId !== expect.nodeId) return { ok: false, reason: 'addressed to another node', id }
  if (expect.now > command.expiresAt) return { ok: false, reason: 'expired', id }
  // a command lives COMMAND_TTL_MS; one valid for longer would outlive its replay mark (a day)
  if (command.expiresAt > expect.now + COMMAND_TTL_MS + COMMAND_CLOCK_SKEW_MS) return { ok: false, reason: 'expires too far in the future', id }
  if (isReadCommandType(command.type)) return { ok: true, command: command as SignedCommand & { type: ReadCommandType } }
  if (!isCommandType(command.type)) return { ok: false, reason: `command type ${command.type} is not allowed`, id }
  if (isQueueCommandType(command.type) !== (command.jobId === ALL_FAILED_JOB_ID)) {
    return { ok: false, reason: isQueueCommandType(command.type) ? `${command.type} names no job: its jobId must be ${ALL_FAILED_JOB_ID}` : `${command.type} needs a job id`, id }
  }
  return { ok: true, command: command as SignedCommand & { type: CommandType } }
}

/** Largest result a reader accepts (UTF-8 bytes); a real one is under half of it. */
export const MAX_COMMAND_RESULT_BYTES = 4096

/** Reads a result an agent wrote; anything else is null. */
export function readCommandResult(raw: string | null): CommandResult | null {
  if (raw === null) return null
  const json = parseAgentJson(raw, MAX_COMMAND_RESULT_BYTES)
  if (!json.ok) return null
  const parsed = commandResultSchema.safeParse(json.value)
  return parsed.success ? parsed.data : null
}
