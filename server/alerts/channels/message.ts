/**
 * What a notification says, independent of the channel: one event as stored in the history, or one
 * rule's events of one evaluation grouped (a Redis restart can lose 500 nodes at once: that is one
 * message, not 500), and a one-line human summary shared by Slack messages and the console's pages.
 */
import { QUEUE_METRICS } from '../metrics.js'
import type { HistoryEvent } from '../schemas.js'

export type MessageKind = 'firing' | 'reminder' | 'resolved'

export type AlertMessage = Omit<HistoryEvent, 'message' | 'channels' | 'kind'> & {
  readonly kind: MessageKind
  /** the delivery's id: the same on every retry, so a receiver can tell a retry from a new alert */
  readonly id: string
}

/** One target of a grouped message. */
export type GroupedTarget = Pick<HistoryEvent, 'target' | 'service' | 'nodeId' | 'queue' | 'value' | 'firedAt'>

/** The same rule changing state the same way for many targets in one evaluation. */
export interface GroupedAlertMessage extends Pick<HistoryEvent, 'rule' | 'metric' | 'op' | 'threshold' | 'at'> {
  readonly kind: MessageKind
  readonly id: string
  /** how many targets changed state; `targets` lists the first of them */
  readonly count: number
  /** at most GROUP_TARGETS_LISTED, in the order they were evaluated */
  readonly targets: readonly GroupedTarget[]
}

export type ChannelMessage = AlertMessage | GroupedAlertMessage

/** Targets a grouped message lists; `count` says how many there were. Keeps a message small. */
export const GROUP_TARGETS_LISTED = 100
/** Names a grouped summary line spells out before "and N more". */
export const GROUP_NAMES_SHOWN = 10

export function isGrouped(message: ChannelMessage): message is GroupedAlertMessage {
  return 'targets' in message
}

const LABEL: Record<HistoryEvent['metric'], string> = {
  cpu: 'CPU',
  memory: 'memory',
  disk: 'free disk',
  node_lost: 'node lost',
  queue_backlog: 'waiting jobs',
  queue_failed: 'new failed jobs',
  queue_wait: 'oldest waiting job',
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
    case 'queue_wait':
      return waitText(value)
  }
}

/** `CPU above 90 %`, `a node is dead`, `failed count rising by more than 10`. */
export function describeCondition(event: Pick<HistoryEvent, 'metric' | 'op' | 'threshold'>): string {
  if (event.metric === 'node_lost') return 'node is dead'
  const unit = event.metric === 'cpu' || event.metric === 'memory' || event.metric === 'disk' ? ' %' : ''
  if (event.metric === 'queue_failed') return `failed count rising by more than ${event.threshold}`
  if (event.metric === 'queue_wait') return `oldest waiting job ${event.op === 'above' ? 'older' : 'younger'} than ${waitText(event.threshold)}`
  return `${LABEL[event.metric]} ${event.op} ${event.threshold}${unit}`
}

/** A wait to the second: `45s`, `12m 3s`, `2h 5m`; sub-second waits in ms. */
export function waitText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`
  const h = Math.floor(m / 60)
  return m % 60 ? `${h}h ${m % 60}m` : `${h}h`
}

export function metricLabel(metric: HistoryEvent['metric']): string {
  return LABEL[metric]
}

/** One line: `[FIRING] cpu-high on billing/web-1: CPU 95.2 % (CPU above 90 %)`. */
export function summarize(message: AlertMessage): string {
  const state = stateLabel(message.kind)
  const value = message.metric === 'node_lost' ? (message.kind === 'resolved' ? 'node is back' : 'node is dead') : `${LABEL[message.metric]} ${formatValue(message.metric, message.value)}`
  return `[${state}] ${message.rule} on ${message.target}: ${value} (${describeCondition(message)})`
}

/**
 * One line for a group: `[FIRING] node-lost for 500 nodes: api/n1, api/n2, … and 490 more (node is
 * dead)`, naming at most `shown` targets (GROUP_NAMES_SHOWN by default; Slack may ask for fewer to
 * fit its length limit).
 */
export function summarizeGroup(message: GroupedAlertMessage, shown = GROUP_NAMES_SHOWN): string {
  const names = message.targets.slice(0, Math.max(0, shown)).map((target) => target.target)
  const rest = message.count - names.length
  const list = names.length === 0 ? '' : rest > 0 ? `: ${names.join(', ')} and ${rest.toLocaleString('en-US')} more` : `: ${names.join(', ')}`
  const noun = QUEUE_METRICS.has(message.metric) ? 'queues' : 'nodes'
  return `[${stateLabel(message.kind)}] ${message.rule} for ${message.count.toLocaleString('en-US')} ${noun}${list} (${describeCondition(message)})`
}

function stateLabel(kind: MessageKind): string {
  return kind === 'resolved' ? 'RESOLVED' : kind === 'reminder' ? 'STILL FIRING' : 'FIRING'
}
