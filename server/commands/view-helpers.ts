/**
 * Formatting for the commands and audit templates: the shared helpers plus how a command reads.
 * Pure functions of their arguments.
 */
import { formatHelpers } from '../web/format.js'
import { queuePath } from '../queues/service.js'
import type { CommandRecord, CommandStatus } from './schemas.js'
import type { BatchView } from './service.js'

const VERBS = { RETRY_JOB: ['Retry', 'Retried'], DELETE_JOB: ['Delete', 'Deleted'] } as const

export const AUDIT_FRAGMENT_URL = '/audit/fragments/log'

/** "Retry pending", "Retried", "Delete rejected", … */
export function statusText(record: Pick<CommandRecord, 'type' | 'status'>): string {
  const [verb, done] = VERBS[record.type]
  return record.status === 'ok' ? done : `${verb} ${record.status}`
}

export function typeLabel(type: CommandRecord['type']): string {
  return VERBS[type][0]
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
  commandUrl,
  batchUrl,
  batchCounts,
  auditUrl,
  queuePath,
}
