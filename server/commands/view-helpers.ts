/**
 * Formatting for the commands and audit templates: the shared helpers plus how a command reads.
 * Pure functions of their arguments.
 */
import { isQueueCommandType } from '@gravito/quasar/protocol'
import { formatHelpers } from '../web/format.js'
import { queuePath } from '../queues/service.js'
import type { CommandRecord, CommandStatus } from './schemas.js'
import type { BatchView } from './service.js'

const VERBS = {
  RETRY_JOB: ['Retry', 'Retried'],
  DELETE_JOB: ['Delete', 'Deleted'],
  RETRY_ALL_FAILED: ['Retry all failed', 'Retried all failed'],
  DELETE_ALL_FAILED: ['Delete all failed', 'Deleted all failed'],
} as const

export const AUDIT_FRAGMENT_URL = '/audit/fragments/log'

/** "Retry pending", "Retried", "Delete rejected", … */
export function statusText(record: Pick<CommandRecord, 'type' | 'status'>): string {
  const [verb, done] = VERBS[record.type]
  return record.status === 'ok' ? done : `${verb} ${record.status}`
}

export function typeLabel(type: CommandRecord['type']): string {
  return VERBS[type][0]
}

/** "Retry job 42", "Delete all failed jobs": what a command acts on, in words */
export function commandTitle(record: Pick<CommandRecord, 'type' | 'jobId'>): string {
  return isQueueCommandType(record.type) ? `${VERBS[record.type][0]} jobs` : `${VERBS[record.type][0]} job ${record.jobId}`
}

/** "120 of 160 done · 2 could not be" for a queue-wide command that reported progress; '' otherwise */
export function progressText(record: CommandRecord): string {
  const progress = record.progress
  if (!progress) return ''
  const errors = progress.errors > 0 ? ` · ${progress.errors} could not be ${record.type === 'RETRY_ALL_FAILED' ? 'retried' : 'deleted'}` : ''
  return `${progress.done} of ${progress.total} done${errors}`
}

/** percent of a queue-wide command's jobs handled, for its progress bar */
export function progressPercent(record: CommandRecord): number {
  const progress = record.progress
  if (!progress || progress.total === 0) return record.status === 'pending' ? 0 : 100
  return Math.min(100, Math.round(((progress.done + progress.errors) / progress.total) * 100))
}

export function commandUrl(id: string): string {
  return `/commands/${encodeURIComponent(id)}`
}

export function batchUrl(id: string): string {
  return `/commands/batches/${encodeURIComponent(id)}`
}

/** "12 done, 3 pending, 1 failed" (only the statuses that occur) */
export function batchCounts(batch: BatchView): string {
  const order: CommandStatus[] = ['ok', 'pending', 'failed', 'rejected', 'expired']
  return order
    .filter((status) => batch.counts[status] > 0)
    .map((status) => `${batch.counts[status]} ${status === 'ok' ? 'done' : status}`)
    .join(', ')
}

export function auditUrl(service: string | undefined): string {
  return service ? `${AUDIT_FRAGMENT_URL}?service=${encodeURIComponent(service)}` : AUDIT_FRAGMENT_URL
}

export const commandViewHelpers = {
  ...formatHelpers,
  statusText,
  typeLabel,
  commandTitle,
  progressText,
  progressPercent,
  isQueueCommandType,
  commandUrl,
  batchUrl,
  batchCounts,
  auditUrl,
  queuePath,
}
