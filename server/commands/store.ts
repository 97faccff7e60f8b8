/**
 * The commands' Redis side. Sending records the command in the pending hash (who, when, what),
 * appends it to the node's stream and publishes the wake-up, all in one pipeline. Finishing moves
 * a command from the pending hash to the audit log in one script: the `HDEL` decides which
 * console replica records it, so two replicas never both log the same command.
 */
import type { Redis } from 'ioredis'
import { COMMAND_FIELD, COMMAND_STREAM_MAXLEN, type SignedCommand } from '@gravito/quasar/protocol'
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

export interface Outgoing {
  signed: SignedCommand
  sent: SentCommand
}

export type StreamEntry = [id: string, fields: string[]]

export function createCommandStore(redis: Redis, keys: ConsoleKeys) {
  const pending = keys.auditPending()
  const log = keys.auditLog()

  /**
   * Sends commands in one round trip; each node is woken once. Throws on any Redis error: some
   * of them may have gone out, and their pending records then end as a result or as expired.
   */
  async function send(commands: readonly Outgoing[]): Promise<void> {
    const pipeline = redis.pipeline()
    const channels = new Set<string>()
    for (const { signed, sent } of commands) {
      pipeline.hset(pending, sent.id, JSON.stringify(sent))
      pipeline.xadd(keys.commandStream(sent.service, sent.nodeId), 'MAXLEN', '~', COMMAND_STREAM_MAXLEN, '*', COMMAND_FIELD, JSON.stringify(signed))
      channels.add(keys.commandChannel(sent.service, sent.nodeId))
    }
    for (const channel of channels) pipeline.publish(channel, 'wake')
    const replies = (await pipeline.exec()) ?? []
    const failed = replies.find(([error]) => error)
    if (failed) throw failed[0]
    if (replies.length === 0) throw new Error('Redis is not reachable')
  }

  /** Every pending command's JSON, by id. */
  async function readPending(): Promise<Record<string, string>> {
    return redis.hgetall(pending)
  }

  /** One pending command's JSON, for a status asked of a replica that has not seen it yet. */
  async function readOnePending(id: string): Promise<string | null> {
    return redis.hget(pending, id)
  }

  /** The agents' results for these ids (null where none yet), in order. */
  async function readResults(ids: readonly string[]): Promise<(string | null)[]> {
    if (ids.length === 0) return []
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.get(keys.commandResult(id))
    const replies = (await pipeline.exec()) ?? []
    return ids.map((_, i) => {
      const [error, value] = replies[i] ?? [new Error('no reply'), null]
      if (error) throw error
      return typeof value === 'string' ? value : null
    })
  }

  /** Moves finished commands to the audit log; returns the ids this replica recorded. */
  async function finish(records: readonly FinishedCommand[], now: number): Promise<string[]> {
    if (records.length === 0) return []
    const pipeline = redis.pipeline()
    const minId = String(Math.max(0, now - AUDIT_MAX_AGE_MS))
    for (const record of records) pipeline.eval(FINISH, 2, pending, log, record.id, JSON.stringify(record), AUDIT_MAXLEN, minId)
    const replies = (await pipeline.exec()) ?? []
    return records.flatMap((record, i) => {
      const [error, value] = replies[i] ?? [new Error('no reply'), 0]
      if (error) throw error
      return value === 1 ? [record.id] : []
    })
  }

  /** The newest `count` audit entries, newest first. */
  async function readLatest(count: number): Promise<StreamEntry[]> {
    return (await redis.xrevrange(log, '+', '-', 'COUNT', count)) as StreamEntry[]
  }

  /** Audit entries added after `lastId`, oldest first. */
  async function readAfter(lastId: string, count: number): Promise<StreamEntry[]> {
    return (await redis.xrange(log, `(${lastId}`, '+', 'COUNT', count)) as StreamEntry[]
  }

  return { send, readPending, readOnePending, readResults, finish, readLatest, readAfter }
}

export type CommandStore = ReturnType<typeof createCommandStore>
