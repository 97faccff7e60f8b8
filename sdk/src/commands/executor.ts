/**
 * Executes the console's signed commands on this node's queues (PROTOCOL.md
 * "Commands"). The node's stream is the source of truth: it is read after the last entry handled,
 * on every beat and whenever the pub/sub wake-up fires, so a command added while the agent was
 * away runs once it is back, if it has not expired. Each entry is checked (signature, target,
 * expiry, allowlist), then claimed with `SET cmdseen:… NX` so it runs at most once, then executed
 * through the queue's probe at a capped rate, and its outcome written to `cmdres:{service}:{id}`.
 * A queue-wide command (./queue-wide.ts) runs in the read in hand, page by page, writing its
 * progress between pages: the commands after it wait for it, as they wait for the pacing.
 *
 * Invariants: reads never overlap; nothing throws into the host; the token is never part of any
 * message; a rejection never overwrites a result already written (`SET NX`), so a forged or
 * replayed copy of a command cannot rewrite how the real one ended.
 */
import type { AgentRedis } from '../client.js'
import {
  COMMAND_CLOCK_SKEW_MS,
  COMMAND_FIELD,
  COMMAND_RESULT_TTL_SECONDS,
  COMMAND_TTL_MS,
  checkCommand,
  isQueueCommandType,
  isReadCommandType,
  type CommandProgress,
  type CommandResult,
  type CommandType,
  type ProtocolKeys,
  type SignedCommand,
} from '../protocol/index.js'
import type { QueueProbe } from '../queues/probe.js'
import { DEFAULT_QUEUE_WIDE_PAGE, DEFAULT_QUEUE_WIDE_PAUSE_MS, runQueueWide } from './queue-wide.js'
import { createTokenBucket, type TokenBucket } from './rate-limit.js'
import { openWakeUp, type WakeUp } from './wake-up.js'
import { answerListJobs } from './list-jobs.js'

/** What the executor needs from its agent. */
export interface CommandHost {
  readonly service: string
  readonly nodeId: string
  readonly keys: ProtocolKeys
  readonly transport: AgentRedis
  tokenForSigning(): string | undefined
  report(error: unknown): void
  queueProbe(name: string): QueueProbe | undefined
}

export interface CommandExecutorOptions {
  /** commands executed per second, on average; default 10 */
  perSecond?: number
  /** commands executed back to back before pacing starts; default 10 */
  burst?: number
  /** listen on the pub/sub channel (default true); without it commands wait for the next beat */
  wakeUp?: boolean
  /** failed jobs a queue-wide command handles per page; default 100 */
  queueWidePageSize?: number
  /** pause between two pages of a queue-wide command (ms); default 20 */
  queueWidePauseMs?: number
  now?: () => number
  /** @internal the pacing; tests pass one whose wait they control */
  bucket?: TokenBucket
}

/** Reported to onError for every command that is refused; never carries the token. */
export class CommandRejectedError extends Error {
  readonly commandId: string | undefined
  readonly reason: string
  constructor(commandId: string | undefined, reason: string) {
    super(`command ${commandId ?? '(without a valid id)'} rejected: ${reason}`)
    this.name = 'CommandRejectedError'
    this.commandId = commandId
    this.reason = reason
  }
}

export const DEFAULT_COMMANDS_PER_SECOND = 10
/** entries read per XRANGE; a longer backlog is read in several batches */
const READ_BATCH = 50
/**
 * On start the stream is read from COMMAND_TTL_MS + COMMAND_CLOCK_SKEW_MS before now. Older
 * entries have expired (an entry id is the time Redis added it); the margin covers clock skew
 * between this host and Redis.
 */
/** results that could not be written (Redis away) are retried, up to this many */
const MAX_UNWRITTEN = 100
const MAX_REASON = 512

interface Outcome {
  result: CommandResult
  /** rejections only fill an empty slot; executions always record what happened */
  onlyIfAbsent: boolean
}

/** Thrown inside a read to end it without moving past the current entry. */
class Interrupted extends Error {}

export function createCommandExecutor(host: CommandHost, options: CommandExecutorOptions = {}) {
  const now = options.now ?? Date.now
  const perSecond = options.perSecond ?? DEFAULT_COMMANDS_PER_SECOND
  const bucket = options.bucket ?? createTokenBucket({ perSecond, burst: options.burst ?? perSecond, now })
  const stream = host.keys.commandStream(host.service, host.nodeId)
  const redis = host.transport
  let cursor = `(${Math.max(0, now() - COMMAND_TTL_MS - COMMAND_CLOCK_SKEW_MS)}-0`
  const claims = createClaimMemory(now)
  let unwritten: Outcome[] = []
  let reading: Promise<void> | null = null
  let again = false
  let stopped = false

  const wakeUp: WakeUp | null =
    options.wakeUp === false
      ? null
      : openWakeUp({
          transport: redis,
          channel: host.keys.commandChannel(host.service, host.nodeId),
          connectionName: `quasar-cmd:${host.service}`,
          onWake: () => void poll(),
          report: (error) => host.report(error),
        })

  /** Reads and handles everything new; joins (and re-runs after) a read in flight. */
  function poll(): Promise<void> {
    if (stopped) return Promise.resolve()
    if (reading) {
      again = true
      return reading
    }
    reading = (async () => {
      do {
        again = false
        await readOnce()
      } while (again && !stopped)
    })().finally(() => {
      reading = null
    })
    return reading
  }

  async function readOnce(): Promise<void> {
    if (redis.status !== 'ready') return
    try {
      await writeUnwritten()
      for (;;) {
        const entries = (await redis.xrange(stream, cursor, '+', 'COUNT', READ_BATCH)) as [string, string[]][]
        for (const [entryId, fields] of entries) {
          if (stopped) return
          await handle(entryId, fields)
          cursor = `(${entryId}`
        }
        if (entries.length < READ_BATCH || stopped) return
      }
    } catch (error) {
      // the entry in hand is read again next time; its replay mark tells whether it already ran
      if (!(error instanceof Interrupted)) host.report(error)
    }
  }

  async function handle(entryId: string, fields: string[]): Promise<void> {
    const check = checkCommand(fieldOf(fields, COMMAND_FIELD), { token: host.tokenForSigning(), service: host.service, nodeId: host.nodeId, now: now() })
    if (!check.ok) return reject(check.id, check.reason)
    const command = check.command
    if (!(await bucket.take())) throw new Interrupted()
    // pacing may have held it past its expiry
    if (now() > command.expiresAt) return reject(command.id, 'expired')
    // the agent's own memory first: whoever can delete the `cmdseen` mark in Redis must still not
    // get a signed command run twice by this process while the command is valid
    const remembered = claims.entryOf(command.id)
    if (remembered === entryId) return
    if (remembered !== undefined) return reject(command.id, 'replayed: this command id was already received')
    const seenKey = host.keys.commandSeen(host.service, host.nodeId, command.id)
    const claimed = await redis.set(seenKey, entryId, 'EX', COMMAND_RESULT_TTL_SECONDS, 'NX')
    if (claimed === null) {
      // the same entry read again (after a restart) was handled then; a copy in another entry is a replay
      if ((await redis.get(seenKey)) === entryId) return
      return reject(command.id, 'replayed: this command id was already received')
    }
    claims.remember(command.id, entryId, command.expiresAt)
    if (isReadCommandType(command.type)) {
      // a read changes nothing: its answer is kept a minute, for the console waiting on it
      const answer = await answerListJobs(command, host.queueProbe(command.queue), (status, reason) => (status === 'rejected' ? rejection(command.id, reason ?? 'refused') : result(command.id, status, reason)))
      try {
        await redis.set(host.keys.commandResult(host.service, command.id), JSON.stringify(answer.result), 'EX', answer.ttlSeconds)
      } catch (error) {
        host.report(error)
      }
      return
    }
    await record({ result: await execute(command as SignedCommand & { type: CommandType }), onlyIfAbsent: false })
  }

  async function execute(command: SignedCommand & { type: CommandType }): Promise<CommandResult> {
    const probe = host.queueProbe(command.queue)
    if (!probe) return rejection(command.id, `unknown queue ${command.queue} on this node`)
    if (isQueueCommandType(command.type)) {
      const type = command.type
      try {
        const outcome = await runQueueWide({
          probe,
          type,
          now,
          pageSize: options.queueWidePageSize ?? DEFAULT_QUEUE_WIDE_PAGE,
          pauseMs: options.queueWidePauseMs ?? DEFAULT_QUEUE_WIDE_PAUSE_MS,
          stopped: () => stopped,
          // overwritten by the next page and by the final result; one lost write is not retried
          progress: (progress) => write({ result: result(command.id, 'running', undefined, progress), onlyIfAbsent: false }).catch((error: unknown) => host.report(error)),
        })
        if (outcome.status === 'rejected') return rejection(command.id, outcome.reason ?? `${type} refused`)
        return result(command.id, outcome.status, outcome.reason, outcome.progress)
      } catch (error) {
        return result(command.id, 'failed', oneLine(error))
      }
    }
    const action = command.type === 'RETRY_JOB' ? probe.retryJob : probe.deleteJob
    if (!action) return rejection(command.id, `queue ${command.queue} (${probe.driver}) cannot ${command.type === 'RETRY_JOB' ? 'retry' : 'delete'} jobs`)
    try {
      await action.call(probe, command.jobId)
      return result(command.id, 'ok')
    } catch (error) {
      return result(command.id, 'failed', oneLine(error))
    }
  }

  async function reject(commandId: string | undefined, reason: string): Promise<void> {
    host.report(new CommandRejectedError(commandId, reason))
    if (commandId !== undefined) await record({ result: result(commandId, 'rejected', reason), onlyIfAbsent: true })
  }

  function rejection(commandId: string, reason: string): CommandResult {
    host.report(new CommandRejectedError(commandId, reason))
    return result(commandId, 'rejected', reason)
  }

  function result(id: string, status: CommandResult['status'], reason?: string, progress?: CommandProgress): CommandResult {
    return { id, status, ...(progress ? { progress } : {}), ...(reason ? { reason: reason.slice(0, MAX_REASON) } : {}), service: host.service, nodeId: host.nodeId, finishedAt: now() }
  }

  async function record(outcome: Outcome): Promise<void> {
    try {
      await write(outcome)
    } catch (error) {
      host.report(error)
      unwritten.push(outcome)
      if (unwritten.length > MAX_UNWRITTEN) unwritten = unwritten.slice(-MAX_UNWRITTEN)
    }
  }

  async function write({ result, onlyIfAbsent }: Outcome): Promise<void> {
    const key = host.keys.commandResult(host.service, result.id)
    const json = JSON.stringify(result)
    if (onlyIfAbsent) await redis.set(key, json, 'EX', COMMAND_RESULT_TTL_SECONDS, 'NX')
    else await redis.set(key, json, 'EX', COMMAND_RESULT_TTL_SECONDS)
  }

  async function writeUnwritten(): Promise<void> {
    while (unwritten.length > 0) {
      await write(unwritten[0]!)
      unwritten.shift()
    }
  }

  return {
    /** reads the stream now (also done on every beat and on each wake-up) */
    poll,
    onBeat() {
      void poll()
    },
    async stop() {
      stopped = true
      bucket.close()
      await wakeUp?.close()
      // an execution in flight finishes or times out on its own connection; don't hold the host
      await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 2_000).unref())])
    },
  }
}

export type CommandExecutor = ReturnType<typeof createCommandExecutor>

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return (text.split('\n')[0] ?? '').trim().slice(0, MAX_REASON) || 'failed without a message'
}

/** Commands claimed by this process are remembered at most this many at once. */
export const MAX_REMEMBERED_CLAIMS = 10_000

/**
 * Ids of the commands this process claimed, each until its command expires (after that the expiry
 * check refuses any copy anyway). Bounded: commands run at a capped rate and live at most 15
 * minutes, so 10,000 is far above what one agent can claim in that time; past it the oldest is
 * forgotten and the Redis mark alone guards it.
 */
function createClaimMemory(now: () => number) {
  const claims = new Map<string, { entryId: string; expiresAt: number }>()
  return {
    entryOf(commandId: string): string | undefined {
      const claim = claims.get(commandId)
      if (claim === undefined) return undefined
      if (claim.expiresAt + COMMAND_CLOCK_SKEW_MS < now()) {
        claims.delete(commandId)
        return undefined
      }
      return claim.entryId
    },
    remember(commandId: string, entryId: string, expiresAt: number): void {
      for (const [id, claim] of claims) {
        // insertion order is claim order, close to expiry order: stop at the first one still valid
        if (claim.expiresAt + COMMAND_CLOCK_SKEW_MS >= now() && claims.size < MAX_REMEMBERED_CLAIMS) break
        claims.delete(id)
      }
      claims.set(commandId, { entryId, expiresAt })
    },
  }
}
