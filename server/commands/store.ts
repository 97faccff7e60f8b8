/**
 * The commands' Redis side. Sending records the command in the pending hash (who, when, what),
 * appends it to the node's stream and publishes the wake-up (`{"type":"wake"}`), in one pipeline per slot. Finishing moves
 * a command from the pending hash to the audit log in one script: the `HDEL` decides which
 * console replica records it, so two replicas never both log the same command.
 */
import type { RedisClient } from '../redis/client.js'
import { COMMAND_FIELD, COMMAND_STREAM_MAXLEN, MAX_COMMAND_RESULT_BYTES, WAKE_UP_MESSAGE, type SignedCommand } from '@gravito/quasar/protocol'
import type { Slot } from '../redis/batch.js'
import { pipelineBySlot } from '../redis/shards.js'
import type { ConsoleKeys } from '../redis/keys.js'
import type { FinishedCommand, SentCommand } from './schemas.js'

/**
 * Audit entries kept: about this many commands (approximate trim, cheap), and none older than
 * AUDIT_MAX_AGE_MS (exact trim: usually nothing or one entry goes per command).
 */
export const AUDIT_MAXLEN = 10_000
export const AUDIT_MAX_AGE_MS = 30 * 24 * 60 * 60_000
/** The audit log's field holding the finished command's JSON. */
export const AUDIT_FIELD = 'command'

// KEYS: pending hash, audit log. ARGV: id, entry JSON, MAXLEN, MINID.
const FINISH = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', '${AUDIT_FIELD}', ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[4])
return 1`

// KEYS: confirmation. ARGV: sent command JSON, seconds. The command already sent with it, or nil once claimed.
const CLAIM_CONFIRMATION = `
local sent = redis.call('GET', KEYS[1])
if sent then return sent end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false`

/** How long a confirmation's key is kept: far longer than anyone leaves a form open and resubmits it. */
export const CONFIRMATION_TTL_SECONDS = 24 * 60 * 60

export interface Outgoing {
  signed: SignedCommand
  sent: SentCommand
}

export type StreamEntry = [id: string, fields: string[]]

/** One result key as read: nothing there yet, a value to check, or why it cannot be a result. */
export type ResultRead = { readonly state: 'none' } | { readonly state: 'value'; readonly raw: string } | { readonly state: 'unreadable'; readonly reason: string }

/** A pending command with what its agent may have answered, at its key and at the legacy one. */
export interface ResultReads<C> {
  readonly command: C
  readonly current: ResultRead
  readonly legacy: ResultRead
}

export function createCommandStore(redis: RedisClient, keys: ConsoleKeys) {
  const pending = keys.auditPending()
  const log = keys.auditLog()

  /**
   * Sends commands in one round trip; each node is woken once. Throws on any Redis error: some
   * of them may have gone out, and their pending records then end as a result or as expired.
   */
  async function send(commands: readonly Outgoing[]): Promise<void> {
    const batch = pipelineBySlot(redis)
    const slots: Slot<unknown>[] = []
    /** each node's channel, with its stream: the wake-up rides in the pipeline that holds the XADD, after it */
    const wakeUps = new Map<string, string>()
    for (const { signed, sent } of commands) {
      const stream = keys.commandStream(sent.service, sent.nodeId)
      slots.push(batch.add(pending, (pipeline) => pipeline.hset(pending, sent.id, JSON.stringify(sent))))
      slots.push(batch.add(stream, (pipeline) => pipeline.xadd(stream, 'MAXLEN', '~', COMMAND_STREAM_MAXLEN, '*', COMMAND_FIELD, JSON.stringify(signed))))
      wakeUps.set(keys.commandChannel(sent.service, sent.nodeId), stream)
    }
    for (const [channel, stream] of wakeUps) slots.push(batch.add(stream, (pipeline) => pipeline.publish(channel, WAKE_UP_MESSAGE)))
    await batch.exec()
    for (const slot of slots) if (!slot.reply.ok) throw slot.reply.error
  }

  /** Every pending command's JSON, by id. */
  async function readPending(): Promise<Record<string, string>> {
    return redis.hgetall(pending)
  }

  /** One pending command's JSON, for a status asked of a replica that has not seen it yet. */
  async function readOnePending(id: string): Promise<string | null> {
    return redis.hget(pending, id)
  }

  /**
   * What the agents answered to these commands, in one round trip: the per-service key, and the
   * shared legacy key that agents from before the per-service layout still write. Each read is a
   * GETRANGE, so a huge value costs at most MAX_COMMAND_RESULT_BYTES + 1 bytes; a key of another
   * type answers WRONGTYPE in its own slot and concerns only its command. Any other error (Redis
   * gone, a permission) throws: it is not one agent's doing.
   */
  async function readResults<C extends Pick<SentCommand, 'id' | 'service'>>(commands: readonly C[]): Promise<ResultReads<C>[]> {
    const batch = pipelineBySlot(redis)
    const slots = commands.map((command) => {
      const current = keys.commandResult(command.service, command.id)
      const legacy = keys.legacyCommandResult(command.id)
      return {
        command,
        current: batch.add<Buffer>(current, (pipeline) => pipeline.getrangeBuffer(current, 0, MAX_COMMAND_RESULT_BYTES)),
        legacy: batch.add<Buffer>(legacy, (pipeline) => pipeline.getrangeBuffer(legacy, 0, MAX_COMMAND_RESULT_BYTES)),
      }
    })
    await batch.exec()
    return slots.map(({ command, current, legacy }) => ({ command, current: resultRead(current), legacy: resultRead(legacy) }))
  }

  /** Moves finished commands to the audit log; returns the ids this replica recorded. */
  async function finish(records: readonly FinishedCommand[], now: number): Promise<string[]> {
    if (records.length === 0) return []
    const minId = String(Math.max(0, now - AUDIT_MAX_AGE_MS))
    // pending and log share the `{audit}` hash tag: one slot, so the script runs on a Cluster too
    const batch = pipelineBySlot(redis)
    const moves = records.map((record) => ({ record, moved: batch.add<number>(pending, (pipeline) => pipeline.eval(FINISH, 2, pending, log, record.id, JSON.stringify(record), AUDIT_MAXLEN, minId)) }))
    await batch.exec()
    return moves.flatMap(({ record, moved }) => {
      const reply = moved.reply
      if (!reply.ok) throw reply.error
      return reply.value === 1 ? [record.id] : []
    })
  }

  /** The newest `count` audit entries, newest first. */
  async function readLatest(count: number): Promise<StreamEntry[]> {
    return await redis.xrevrange(log, '+', '-', 'COUNT', count)
  }

  /** Audit entries added after `lastId`, oldest first. */
  async function readAfter(lastId: string, count: number): Promise<StreamEntry[]> {
    return await redis.xrange(log, `(${lastId}`, '+', 'COUNT', count)
  }

  /**
   * Claims a confirmation for the command about to be sent with it; answers the JSON of the
   * command already sent with it, if any (then nothing must be sent). One script, so of two
   * requests carrying the same confirmation, on any replica, exactly one claims it.
   */
  async function claimConfirmation(key: string, sent: SentCommand): Promise<string | null> {
    const reply = await redis.eval(CLAIM_CONFIRMATION, 1, keys.auditConfirmation(key), JSON.stringify(sent), CONFIRMATION_TTL_SECONDS)
    return typeof reply === 'string' ? reply : null
  }

  /** Frees a confirmation whose command could not be sent, so submitting it again can send it. */
  async function releaseConfirmation(key: string): Promise<void> {
    await redis.del(keys.auditConfirmation(key))
  }

  /**
   * Sends a read request (LIST_JOBS): on the node's stream with its wake-up like a command, but
   * not in the pending hash, so it is never audited nor counted as pending.
   */
  async function sendRequest(signed: SignedCommand): Promise<void> {
    const stream = keys.commandStream(signed.service, signed.nodeId)
    const batch = pipelineBySlot(redis)
    const added = batch.add(stream, (pipeline) => pipeline.xadd(stream, 'MAXLEN', '~', COMMAND_STREAM_MAXLEN, '*', COMMAND_FIELD, JSON.stringify(signed)))
    const woken = batch.add(stream, (pipeline) => pipeline.publish(keys.commandChannel(signed.service, signed.nodeId), WAKE_UP_MESSAGE))
    await batch.exec()
    for (const slot of [added, woken]) if (!slot.reply.ok) throw slot.reply.error
  }

  /** A read request's answer as written, at most `maxBytes + 1` bytes of it (a longer one is refused unread); null before it is. */
  async function readRequestAnswer(service: string, id: string, maxBytes: number): Promise<Buffer | null> {
    const value = await redis.getrangeBuffer(keys.commandResult(service, id), 0, maxBytes)
    return value.length === 0 ? null : value
  }

  return { send, sendRequest, readRequestAnswer, readPending, readOnePending, readResults, finish, readLatest, readAfter, claimConfirmation, releaseConfirmation }
}

export type CommandStore = ReturnType<typeof createCommandStore>

function resultRead(slot: Slot<Buffer>): ResultRead {
  const reply = slot.reply
  if (!reply.ok) {
    if (reply.error.message.startsWith('WRONGTYPE')) return { state: 'unreadable', reason: 'holds another Redis type than a string' }
    throw reply.error
  }
  // GETRANGE answers an empty string for a missing key; an empty value is no result either
  if (reply.value.length === 0) return { state: 'none' }
  if (reply.value.length > MAX_COMMAND_RESULT_BYTES) return { state: 'unreadable', reason: `longer than ${MAX_COMMAND_RESULT_BYTES} bytes` }
  return { state: 'value', raw: reply.value.toString('utf8') }
}
