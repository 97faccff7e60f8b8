/**
 * Builds, signs and sends commands, and answers "what became of command X". Signing needs
 * QUASAR_TOKEN; without it every send is refused and the pages hide the buttons.
 *
 * Statuses come from the snapshot. A command this process sent is also remembered until a
 * snapshot has it, so its status reads "pending" at once instead of "unknown" until the next tick;
 * only an id that neither knows (sent by another replica within the last tick) costs a Redis read.
 */
import { randomBytes } from 'node:crypto'
import { ALL_FAILED_JOB_ID, COMMAND_TTL_MS, parseAgentJson, signCommand, type CommandType, type QueueCommandType } from '@gravito/quasar/protocol'
import type { Clock } from '../clock.js'
import type { Snapshot } from '../collector/snapshot.js'
import { sentCommandSchema, type CommandRecord, type SentCommand } from './schemas.js'
import { buildBatchView, checkTarget, commandsOf, MAX_PENDING, retryAllPlan, type BatchView, type RetryAllPlan, type Target } from './service.js'
import type { CommandStore, Outgoing } from './store.js'

export const DISABLED_MESSAGE = 'commands are disabled: start the console with QUASAR_TOKEN (or --quasar-token) set to the secret its agents share'

export type SendOutcome = { ok: true; commands: SentCommand[] } | { ok: false; code: 404 | 409 | 503; message: string }

/** What a queue-wide confirmation carried back: the key it was rendered with, the count it showed. */
export interface Confirmation {
  key: string
  countSeen?: number | undefined
}

export type ConfirmedOutcome = { ok: true; command: CommandRecord; repeated: boolean } | { ok: false; code: 404 | 409 | 503; message: string }

/** how long a sent command is remembered without showing up in a snapshot */
const REMEMBER_MS = 60_000

export function newCommandId(): string {
  return randomBytes(16).toString('base64url')
}

export function createCommandSender(options: { store: CommandStore; clock: Clock; token: string | undefined; snapshot: () => Snapshot }) {
  const { store, clock, token } = options
  const recent = new Map<string, { record: CommandRecord; at: number }>()

  function forget(snapshot: Snapshot): void {
    const now = clock()
    const known = commandsOf(snapshot).byId
    for (const [id, entry] of recent) if (known.has(id) || now - entry.at > REMEMBER_MS) recent.delete(id)
  }

  async function sendTo(
    target: Target,
    jobs: readonly { type: CommandType; jobId: string }[],
    sentBy: string,
    extra: Pick<SentCommand, 'batch' | 'countSeen' | 'confirmation'> = {},
    claim?: (sent: SentCommand) => Promise<SentCommand | null>,
  ): Promise<SendOutcome> {
    if (token === undefined) return { ok: false, code: 503, message: DISABLED_MESSAGE }
    const snapshot = options.snapshot()
    forget(snapshot)
    const check = checkTarget(snapshot, target, [...new Set(jobs.map((job) => job.type))])
    if (!check.ok) return check
    if (commandsOf(snapshot).pendingCount + recent.size + jobs.length > MAX_PENDING) {
      return { ok: false, code: 503, message: `${MAX_PENDING} commands are already waiting for their agents; try again once they have answered` }
    }
    const issuedAt = clock()
    const expiresAt = issuedAt + COMMAND_TTL_MS
    const outgoing: Outgoing[] = jobs.map(({ type, jobId }) => {
      const id = newCommandId()
      const signed = signCommand({ v: 1, id, type, service: target.service, nodeId: target.nodeId, queue: target.queue, jobId, issuedAt, expiresAt }, token)
      const sent: SentCommand = { id, type, ...target, jobId, sentBy, sentAt: issuedAt, expiresAt, ...extra }
      return { signed, sent }
    })
    if (claim) {
      let already: SentCommand | null
      try {
        already = await claim(outgoing[0]!.sent)
      } catch {
        return { ok: false, code: 503, message: 'Redis is not reachable: the command could not be sent' }
      }
      if (already) return { ok: true, commands: [already] }
    }
    try {
      await store.send(outgoing)
    } catch {
      if (extra.confirmation) await store.releaseConfirmation(extra.confirmation).catch(() => {})
      return { ok: false, code: 503, message: 'Redis is not reachable: the command could not be sent' }
    }
    for (const { sent } of outgoing) recent.set(sent.id, { record: { ...sent, status: 'pending' }, at: clock() })
    return { ok: true, commands: outgoing.map((o) => o.sent) }
  }

  function lookup(id: string): CommandRecord | null {
    const known = commandsOf(options.snapshot()).byId.get(id)
    if (known) return known
    const sent = recent.get(id)
    return sent && clock() - sent.at <= REMEMBER_MS ? sent.record : null
  }

  return {
    enabled: token !== undefined,
    disabledMessage: DISABLED_MESSAGE,

    send(target: Target, type: CommandType, jobId: string, sentBy: string): Promise<SendOutcome> {
      return sendTo(target, [{ type, jobId }], sentBy)
    },

    /**
     * One RETRY_JOB per job the confirmation listed (capped at RETRY_ALL_CAP by the form), sent at
     * most once per confirmation: the same confirmation posted again answers the first batch.
     */
    async retryAll(target: Target, confirmed: { key: string; jobIds: readonly string[] }, sentBy: string): Promise<(SendOutcome & { ok: false }) | { ok: true; batch: string }> {
      if (token === undefined) return { ok: false, code: 503, message: DISABLED_MESSAGE }
      const batch = newCommandId()
      // set by the claim when the confirmation already sent a batch
      const earlier: { first: SentCommand | null } = { first: null }
      const outcome = await sendTo(
        target,
        [...new Set(confirmed.jobIds)].map((jobId) => ({ type: 'RETRY_JOB' as const, jobId })),
        sentBy,
        { batch, confirmation: confirmed.key },
        async (sent) => {
          const raw = await store.claimConfirmation(confirmed.key, sent)
          if (raw === null) return null
          const json = parseAgentJson(raw, 4096)
          const parsed = json.ok ? sentCommandSchema.safeParse(json.value) : null
          if (!parsed?.success) throw new Error('unreadable confirmation record')
          earlier.first = parsed.data
          return parsed.data
        },
      )
      if (!outcome.ok) return outcome
      const first = earlier.first
      if (first === null) return { ok: true, batch }
      if (first.batch === undefined || first.service !== target.service || first.nodeId !== target.nodeId || first.queue !== target.queue) {
        return { ok: false, code: 409, message: 'this confirmation was already used for another command; ask again' }
      }
      return { ok: true, batch: first.batch }
    },

    /**
     * One queue-wide command, sent at most once per confirmation: a second POST of the same
     * confirmation (a double click, a resubmitted form, another replica) answers the command the
     * first one sent. A confirmation used for another queue or type is refused.
     */
    async sendConfirmed(target: Target, type: QueueCommandType, confirmation: Confirmation, sentBy: string): Promise<ConfirmedOutcome> {
      let repeated = false
      const extra = { confirmation: confirmation.key, ...(confirmation.countSeen === undefined ? {} : { countSeen: confirmation.countSeen }) }
      const outcome = await sendTo(target, [{ type, jobId: ALL_FAILED_JOB_ID }], sentBy, extra, async (sent) => {
        const raw = await store.claimConfirmation(confirmation.key, sent)
        if (raw === null) return null
        repeated = true
        const json = parseAgentJson(raw, 4096)
        const parsed = json.ok ? sentCommandSchema.safeParse(json.value) : null
        if (!parsed?.success) throw new Error('unreadable confirmation record')
        return parsed.data
      })
      if (!outcome.ok) return outcome
      const sent = outcome.commands[0]!
      if (repeated && (sent.type !== type || sent.service !== target.service || sent.nodeId !== target.nodeId || sent.queue !== target.queue)) {
        return { ok: false, code: 409, message: 'this confirmation was already used for another command; ask again' }
      }
      // the first request may still be sending: its record is what this one answers with until a snapshot has it
      return { ok: true, command: lookup(sent.id) ?? { ...sent, status: 'pending' }, repeated }
    },

    /** the command as the latest snapshot (or this process, just after sending) knows it */
    lookup,

    /** like lookup, then asks Redis for a command another replica sent since the last tick */
    async lookupAnywhere(id: string): Promise<CommandRecord | null> {
      const known = lookup(id)
      if (known) return known
      const raw = await store.readOnePending(id)
      const json = raw === null ? null : parseAgentJson(raw, 4096)
      const parsed = json?.ok ? sentCommandSchema.safeParse(json.value) : null
      return parsed?.success && parsed.data.id === id ? { ...parsed.data, status: 'pending' } : null
    },

    batch(batch: string): BatchView | null {
      const records = [...commandsOf(options.snapshot()).records]
      for (const { record } of recent.values()) if (record.batch === batch && !records.some((r) => r.id === record.id)) records.push(record)
      return buildBatchView(batch, records)
    },
  }
}

export type CommandSender = ReturnType<typeof createCommandSender>

export function planRetryAll(snapshot: Snapshot, target: Target): { ok: true; plan: RetryAllPlan } | { ok: false; code: 404 | 409; message: string } {
  const check = checkTarget(snapshot, target, ['RETRY_JOB'])
  return check.ok ? { ok: true, plan: retryAllPlan(check.queue) } : check
}
