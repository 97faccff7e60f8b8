/**
 * The commands' rules and view models, pure functions of the snapshot: where a command may go,
 * what "retry all failed" touches, a command's status, a batch's progress, the audit log.
 */
import type { Snapshot } from '../collector/snapshot.js'
import { findQueue } from '../queues/service.js'
import { isReadOnly, type QueueRecord } from '../queues/records.js'
import { isQueueCommandType, type CommandType, type QueueCommandType } from '@gravito/quasar/protocol'
import { EMPTY_COMMANDS, type CommandsPart } from './collector-part.js'
import { RETRY_ALL_CAP, type CommandRecord, type CommandStatus } from './schemas.js'
import { readStatus, type ReadStatus } from '../collector/part-status.js'
import { naturalCompare } from '../web/natural-sort.js'

export { RETRY_ALL_CAP } from './schemas.js'
/** Commands waiting for their agents, across the console; beyond it sending is refused. */
export const MAX_PENDING = 5_000
/** Rows on the audit page and in its API answer. */
export const AUDIT_SHOWN = 200

export interface Target {
  service: string
  nodeId: string
  queue: string
}

export type TargetCheck = { ok: true; queue: QueueRecord } | { ok: false; code: 404 | 409; message: string }

export function commandsOf(snapshot: Snapshot): CommandsPart {
  return snapshot.commands ?? EMPTY_COMMANDS
}

/**
 * A command may go to a node the console knows, for a queue an agent reports, that this node
 * monitors, and only of a type declared for that queue (server/queues/capability.ts).
 */
export function checkTarget(snapshot: Snapshot, target: Target, types: readonly CommandType[]): TargetCheck {
  const node = snapshot.nodes.find((n) => n.service === target.service && n.nodeId === target.nodeId)
  if (!node) return { ok: false, code: 404, message: `no node ${target.nodeId} in service ${target.service}` }
  const queue = findQueue(snapshot, target.service, target.queue)
  if (!queue) return { ok: false, code: 404, message: `no queue ${target.queue} in service ${target.service}` }
  if (isReadOnly(queue)) return { ok: false, code: 409, message: `queue ${target.queue} is read-only: ${queue.readOnlyReason ?? 'no commands declared'}` }
  if (queue.nodeId !== target.nodeId && !nodeListsQueue(node.heartbeat, target.queue)) {
    return { ok: false, code: 409, message: `node ${target.nodeId} does not report queue ${target.queue}` }
  }
  const undeclared = types.filter((type) => !queue.commands.includes(type))
  if (undeclared.length > 0) {
    return { ok: false, code: 409, message: `queue ${target.queue} does not accept ${undeclared.join(', ')}: its agent declares only ${queue.commands.join(', ')}` }
  }
  return { ok: true, queue }
}

function nodeListsQueue(heartbeat: unknown, queue: string): boolean {
  const queues = (heartbeat as { queues?: unknown }).queues
  return Array.isArray(queues) && queues.some((entry) => (entry as { name?: unknown } | null)?.name === queue)
}

export interface RetryAllPlan {
  /** the failed jobs the agent listed, newest first, capped */
  jobIds: string[]
  /** the queue's failed count, when the driver reports it */
  failedTotal: number | null
  /** failed jobs listed by the agent (it lists the newest ones) */
  listed: number
  cap: number
}

export function retryAllPlan(queue: QueueRecord): RetryAllPlan {
  const listed = queue.failedJobs ?? []
  return { jobIds: listed.slice(0, RETRY_ALL_CAP).map((job) => job.id), failedTotal: queue.failed, listed: listed.length, cap: RETRY_ALL_CAP }
}

export interface QueueActionPlan {
  type: QueueCommandType
  /** the queue's failed count in the snapshot the confirmation is built from; null when not reported */
  failed: number | null
}

/** What a queue-wide confirmation states: the whole failed set, as the agent last counted it. */
export function queueActionPlan(queue: QueueRecord, type: QueueCommandType): QueueActionPlan {
  return { type, failed: queue.failed }
}

/** What the API answers for one command. */
export function toCommandApi(record: CommandRecord) {
  return {
    id: record.id,
    status: record.status,
    ...(record.status !== 'pending' && record.reason ? { reason: record.reason } : {}),
    type: record.type,
    service: record.service,
    nodeId: record.nodeId,
    queue: record.queue,
    jobId: record.jobId,
    ...(record.progress ? { progress: record.progress } : {}),
    ...(record.countSeen !== undefined ? { countSeen: record.countSeen } : {}),
    sentBy: record.sentBy,
    sentAt: record.sentAt,
    ...(record.status !== 'pending' ? { finishedAt: record.finishedAt } : {}),
  }
}

export interface BatchView {
  id: string
  total: number
  counts: Record<CommandStatus, number>
  done: boolean
  service: string | null
  queue: string | null
}

/** Progress of one "retry all failed" click. */
export function buildBatchView(batch: string, records: readonly CommandRecord[]): BatchView | null {
  const members = records.filter((record) => record.batch === batch)
  if (members.length === 0) return null
  const counts: Record<CommandStatus, number> = { pending: 0, ok: 0, failed: 0, rejected: 0, expired: 0 }
  for (const record of members) counts[record.status]++
  return { id: batch, total: members.length, counts, done: counts.pending === 0, service: members[0]!.service, queue: members[0]!.queue }
}

export interface AuditView {
  generatedAt: number
  redis: ReadStatus
  filter: { service?: string | undefined }
  serviceNames: string[]
  rows: CommandRecord[]
  total: number
}

export function buildAuditView(snapshot: Snapshot, filter: { service?: string | undefined }): AuditView {
  const all = commandsOf(snapshot).records
  const matching = filter.service ? all.filter((record) => record.service === filter.service) : all
  return {
    generatedAt: snapshot.generatedAt,
    redis: readStatus(snapshot, ['commands']),
    filter,
    serviceNames: [...new Set(all.map((record) => record.service))].sort(naturalCompare),
    rows: matching.slice(0, AUDIT_SHOWN),
    total: matching.length,
  }
}

export function toAuditApi(snapshot: Snapshot, filter: { service?: string | undefined }) {
  const view = buildAuditView(snapshot, filter)
  return { generatedAt: view.generatedAt, total: view.total, commands: view.rows.map(toCommandApi) }
}

/**
 * How long a finished command stays on its job's row: long enough for the agent's next reports to
 * drop a retried or deleted job from the failed list, after which the row goes with it.
 */
export const ROW_STATUS_MS = 2 * 60_000

const newestByJob = new WeakMap<CommandsPart, Map<string, CommandRecord>>()

/**
 * The newest command for one job, if it is pending or finished within ROW_STATUS_MS: what the
 * job's row shows instead of its buttons, so a reload or a poll of the failed list keeps it.
 * A job that failed (`failedAt`, as its agent reports it) after its command finished failed
 * again: its row shows it failed, not the old command's outcome. Indexed once per snapshot's
 * commands part.
 */
export function commandForJob(snapshot: Snapshot, service: string, queue: string, jobId: string, failedAt?: number): CommandRecord | null {
  const part = commandsOf(snapshot)
  let index = newestByJob.get(part)
  if (!index) {
    index = new Map()
    for (const record of part.records) {
      const key = jobKey(record.service, record.queue, record.jobId)
      const known = index.get(key)
      if (!known || known.sentAt < record.sentAt) index.set(key, record)
    }
    newestByJob.set(part, index)
  }
  const record = index.get(jobKey(service, queue, jobId))
  if (!record) return null
  if (record.status === 'pending') return record
  if (failedAt !== undefined && failedAt > record.finishedAt) return null
  return snapshot.generatedAt - record.finishedAt <= ROW_STATUS_MS ? record : null
}

const newestByQueue = new WeakMap<CommandsPart, Map<string, CommandRecord>>()

/**
 * The newest queue-wide command for one queue, if it is pending or finished within
 * ROW_STATUS_MS: the queue page's progress region shows it, to every viewer, across reloads.
 */
export function commandForQueue(snapshot: Snapshot, service: string, queue: string): CommandRecord | null {
  const part = commandsOf(snapshot)
  let index = newestByQueue.get(part)
  if (!index) {
    index = new Map()
    for (const record of part.records) {
      if (!isQueueCommandType(record.type)) continue
      const key = jobKey(record.service, record.queue, '')
      const known = index.get(key)
      if (!known || known.sentAt < record.sentAt) index.set(key, record)
    }
    newestByQueue.set(part, index)
  }
  const record = index.get(jobKey(service, queue, ''))
  if (!record) return null
  return record.status === 'pending' || snapshot.generatedAt - record.finishedAt <= ROW_STATUS_MS ? record : null
}

function jobKey(service: string, queue: string, jobId: string): string {
  return `${service}\u0000${queue}\u0000${jobId}`
}
