/**
 * The commands part of each snapshot: every pending command and the latest finished ones, so a
 * status poll, the audit page and the API are answered without a Redis read. Each tick it reads
 * the pending hash, the agents' results for those commands (one pipelined GET each, oldest first,
 * bounded per tick), closes the ones that have a result or have expired (moving them to the audit
 * log), then reads what the audit log gained since the last tick.
 *
 * Results are agent data: a result key of another type, too long, that does not parse, or that
 * names another target than the command it answers is ignored and logged for that command alone;
 * the command stays pending and expires as usual. Results are read at the per-service key, then
 * at the legacy shared key that agents from before the per-service layout write; the documented
 * ACL lets no agent write the legacy key, so there too only the console trusts what it reads after
 * checking the target.
 */
import { COMMAND_CLOCK_SKEW_MS, COMMAND_RUNNING, parseAgentJson, readCommandResult, type CommandProgress, type CommandResult } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { CollectorPart } from '../collector/snapshot.js'
import { finishedCommandSchema, sentCommandSchema, type CommandRecord, type FinishedCommand, type PendingCommand, type SentCommand } from './schemas.js'
import { AUDIT_FIELD, type CommandStore, type ResultRead, type StreamEntry } from './store.js'

export interface CommandsPart {
  /** pending commands, then finished ones; newest sent first */
  readonly records: readonly CommandRecord[]
  readonly byId: ReadonlyMap<string, CommandRecord>
  readonly pendingCount: number
}

declare module '../collector/snapshot.js' {
  interface SnapshotParts {
    readonly commands?: CommandsPart
  }
}

/** finished commands kept in memory (the audit log in Redis keeps more) */
export const FINISHED_KEPT = 2_000
/** pending commands whose results are read per tick; the rest wait for the next ticks */
export const RESULTS_PER_TICK = 1_000
/** a result written right at the expiry still counts; after this the command is marked expired */
export const EXPIRY_GRACE_MS = 10_000
export const EXPIRED_REASON = 'no result from the agent before the command expired'
/**
 * A queue-wide command may run past its expiry (the agent checks expiry before it starts, not
 * while it pages): it stays pending while its agent wrote progress within this long.
 */
export const RUNNING_QUIET_MS = 2 * 60_000
const LOG_READ = 500
const MAX_LOG_READS_PER_TICK = 10

export const EMPTY_COMMANDS: CommandsPart = { records: [], byId: new Map(), pendingCount: 0 }

export function createCommandsCollector(store: CommandStore, badData: BadDataLog): CollectorPart<'commands'> {
  /** finished commands read from the audit log, oldest first */
  let finished: FinishedCommand[] = []
  let lastLogId: string | null = null
  let current = EMPTY_COMMANDS
  let previousPendingIds = ''

  function parseSent(id: string, raw: string): SentCommand | null {
    const json = parseAgentJson(raw, 4096)
    const parsed = json.ok ? sentCommandSchema.safeParse(json.value) : null
    if (parsed?.success && parsed.data.id === id) return parsed.data
    badData.report(`audit pending ${id}`, 'not a sent command')
    return null
  }

  /** The result at one key, if it answers this very command; anything else is logged and ignored. */
  function believe(command: SentCommand, read: ResultRead, key: string): CommandResult | null {
    if (read.state === 'none') return null
    if (read.state === 'unreadable') {
      badData.report(key, read.reason)
      return null
    }
    const result = readCommandResult(read.raw)
    if (result && result.id === command.id && result.service === command.service && result.nodeId === command.nodeId) return result
    badData.report(key, 'result does not match the protocol or its command')
    return null
  }

  /**
   * The commands among `sent` that are over (answered by their agent, or expired), and the
   * progress of queue-wide ones still running.
   */
  async function settle(sent: SentCommand[], now: number): Promise<{ over: FinishedCommand[]; running: Map<string, CommandResult & { progress: CommandProgress }> }> {
    const answered = new Map<string, CommandResult>()
    for (const { command, current, legacy } of await store.readResults(sent.slice(0, RESULTS_PER_TICK))) {
      const result = believe(command, current, `cmdres ${command.service}:${command.id}`) ?? believe(command, legacy, `legacy cmdres ${command.id}`)
      if (result) answered.set(command.id, result)
    }
    const over: FinishedCommand[] = []
    const running = new Map<string, CommandResult & { progress: CommandProgress }>()
    for (const command of sent) {
      const result = answered.get(command.id)
      if (result?.status === COMMAND_RUNNING) {
        if (result.progress) running.set(command.id, { ...result, progress: result.progress })
        // a progress time further ahead than clocks differ is not believed: it would keep the command pending for ever
        const wroteAt = result.finishedAt <= now + COMMAND_CLOCK_SKEW_MS ? result.finishedAt : 0
        if (now <= Math.max(command.expiresAt, wroteAt + RUNNING_QUIET_MS) + EXPIRY_GRACE_MS) continue
        over.push({ ...command, status: 'expired', reason: 'the agent stopped reporting progress', ...(result.progress ? { progress: result.progress } : {}), finishedAt: now })
      } else if (result) {
        over.push({ ...command, status: result.status, ...(result.progress ? { progress: result.progress } : {}), ...(result.reason ? { reason: result.reason } : {}), finishedAt: Math.round(result.finishedAt) })
      } else if (now > command.expiresAt + EXPIRY_GRACE_MS) over.push({ ...command, status: 'expired', reason: EXPIRED_REASON, finishedAt: now })
    }
    return { over, running }
  }

  function addLogEntries(entries: StreamEntry[]): void {
    for (const [entryId, fields] of entries) {
      const value = fieldOf(fields, AUDIT_FIELD)
      const json = value === undefined ? null : parseAgentJson(value, 8192)
      const parsed = json?.ok ? finishedCommandSchema.safeParse(json.value) : null
      if (parsed?.success) finished.push(parsed.data)
      else badData.report(`audit log ${entryId}`, 'not a finished command')
      lastLogId = entryId
    }
    if (finished.length > FINISHED_KEPT) finished = finished.slice(-FINISHED_KEPT)
  }

  async function readLog(): Promise<boolean> {
    if (lastLogId === null) {
      const latest = await store.readLatest(FINISHED_KEPT)
      addLogEntries(latest.reverse())
      return latest.length > 0
    }
    let added = false
    for (let reads = 0; reads < MAX_LOG_READS_PER_TICK; reads++) {
      const entries = await store.readAfter(lastLogId, LOG_READ)
      addLogEntries(entries)
      added ||= entries.length > 0
      if (entries.length < LOG_READ) break
    }
    return added
  }

  async function collect(now: number): Promise<CommandsPart> {
    const raw = await store.readPending()
    const sent = Object.entries(raw)
      .map(([id, json]) => parseSent(id, json))
      .filter((command): command is SentCommand => command !== null)
      .sort((a, b) => a.sentAt - b.sentAt)
    const { over, running } = await settle(sent, now)
    // whichever replica's script removes it from the pending hash logs it; either way it is over
    await store.finish(over, now)
    const closed = new Set(over.map((command) => command.id))
    const stillPending: PendingCommand[] = sent
      .filter((command) => !closed.has(command.id))
      .map((command) => {
        const progress = running.get(command.id)?.progress
        return { ...command, status: 'pending', ...(progress ? { progress } : {}) }
      })
    const logChanged = await readLog()
    // progress is part of what a pending command shows: a page written is a new snapshot part
    const pendingIds = stillPending.map((command) => (command.progress ? `${command.id}:${command.progress.done}:${command.progress.errors}` : command.id)).join(',')
    if (!logChanged && pendingIds === previousPendingIds) return current
    previousPendingIds = pendingIds
    current = build(stillPending, finished)
    return current
  }

  return { key: 'commands', initial: EMPTY_COMMANDS, collect }
}

function build(pending: readonly PendingCommand[], finished: readonly FinishedCommand[]): CommandsPart {
  const byId = new Map<string, CommandRecord>()
  // newest logged first, so commands sent together (one retry-all) keep the order they ran in
  for (let i = finished.length - 1; i >= 0; i--) byId.set(finished[i]!.id, finished[i]!)
  for (let i = pending.length - 1; i >= 0; i--) if (!byId.has(pending[i]!.id)) byId.set(pending[i]!.id, pending[i]!)
  // a stable sort: equal send times keep the order above
  const records = [...byId.values()].sort((a, b) => b.sentAt - a.sentAt)
  return { records, byId, pendingCount: pending.length }
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}
