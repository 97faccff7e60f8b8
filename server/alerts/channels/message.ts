/**
 * What a notification says, independent of the channel: the event as stored in the history, and a
 * one-line human summary shared by Slack messages and the console's pages.
 */
import type { HistoryEvent } from '../schemas.js'

export type AlertMessage = Omit<HistoryEvent, 'message' | 'channels' | 'kind'> & {
  readonly kind: 'firing' | 'reminder' | 'resolved'
}

const LABEL: Record<HistoryEvent['metric'], string> = {
  cpu: 'CPU',
  memory: 'memory',
  disk: 'free disk',
  node_lost: 'node lost',
  queue_backlog: 'waiting jobs',
  queue_failed: 'new failed jobs',
}

/** `CPU 95.2 %`, `free disk 8.1 %`, `waiting jobs 1,204`, `new failed jobs +12`. */
export function formatValue(metric: HistoryEvent['metric'], value: number): string {
  switch (metric) {
    case 'cpu':
    case 'memory':
    case 'disk':
      return `${value.toFixed(1)} %`
    case 'node_lost':
      return value >= 1 ? 'dead' : 'alive'
    case 'queue_backlog':
      return Math.round(value).toLocaleString('en-US')
    case 'queue_failed':
      return `+${Math.round(value).toLocaleString('en-US')}`
  }
}

/** `CPU above 90 %`, `a node is dead`, `failed count rising by more than 10`. */
export function describeCondition(event: Pick<HistoryEvent, 'metric' | 'op' | 'threshold'>): string {
  if (event.metric === 'node_lost') return 'node is dead'
  const unit = event.metric === 'cpu' || event.metric === 'memory' || event.metric === 'disk' ? ' %' : ''
  if (event.metric === 'queue_failed') return `failed count rising by more than ${event.threshold}`
  return `${LABEL[event.metric]} ${event.op} ${event.threshold}${unit}`
}

export function metricLabel(metric: HistoryEvent['metric']): string {
  return LABEL[metric]
}

/** One line: `[FIRING] cpu-high on billing/web-1: CPU 95.2 % (CPU above 90 %)`. */
export function summarize(message: AlertMessage): string {
  const state = message.kind === 'resolved' ? 'RESOLVED' : message.kind === 'reminder' ? 'STILL FIRING' : 'FIRING'
  const value = message.metric === 'node_lost' ? (message.kind === 'resolved' ? 'node is back' : 'node is dead') : `${LABEL[message.metric]} ${formatValue(message.metric, message.value)}`
  return `[${state}] ${message.rule} on ${message.target}: ${value} (${describeCondition(message)})`
}
