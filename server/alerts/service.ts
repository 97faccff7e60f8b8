/**
 * View models for the alerts page, its fragment, the API and the node cards. Pure functions of the
 * snapshot and the configured rules: no request, no Redis.
 */
import type { Snapshot } from '../collector/snapshot.js'
import { alertsOf, type AlertHistoryEntry, type AlertsPart, type FiringAlert } from './collector-part.js'
import { describeCondition, formatValue, metricLabel, waitText } from './channels/message.js'
import { maskUrl } from './channels/url.js'
import { formatDuration } from '../duration.js'
import type { AlertRules } from './rules.js'
import { readStatus, type ReadStatus } from '../collector/part-status.js'
import { queueId } from '../queues/records.js'
import type { QueueFlag } from '../queues/flags.js'
import { naturalCompare } from '../web/natural-sort.js'

/** History rows rendered in the page; the API returns the whole kept history. */
export const HISTORY_ROWS = 100

export interface FiringView {
  rule: string
  metric: string
  target: string
  service: string
  nodeId?: string
  queue?: string
  /** `CPU 95.2 %` */
  value: string
  /** `CPU above 90 %` */
  condition: string
  firedAt: number
  /** how long it has been firing, at the snapshot's time: `12m` */
  firingFor: string
  message: 'sent' | 'not sent (cool-down)' | 'no channel'
  channels: string[]
}

export interface HistoryView {
  id: string
  kind: AlertHistoryEntry['kind']
  at: number
  rule: string
  target: string
  service: string
  value: string
  condition: string
  /** delivered, failed, partly delivered, sending, suppressed by cool-down, or no message */
  delivery: 'delivered' | 'failed' | 'partial' | 'sending' | 'cool-down' | 'no message'
  channels: { name: string; ok: boolean | null; attempts: number; error?: string }[]
}

export interface RuleView {
  name: string
  condition: string
  for: string
  clear: string
  cooldown: string
  scope: string
  channels: string[]
}

export interface AlertsView {
  generatedAt: number
  redis: ReadStatus
  filter: string
  serviceNames: string[]
  firing: FiringView[]
  history: HistoryView[]
  /** history events kept (after the filter), of which `history` shows the latest */
  historyTotal: number
  rules: RuleView[]
  channels: { name: string; type: string; url: string }[]
  rulesFile: string | null
}

export function buildAlertsView(snapshot: Snapshot, config: AlertRules, serviceFilter?: string): AlertsView {
  const part = alertsOf(snapshot)
  const { firing, history } = filterAlerts(part, serviceFilter)
  const names = new Set<string>([...part.firing.map((a) => a.service), ...part.history.map((e) => e.service)])
  return {
    generatedAt: snapshot.generatedAt,
    redis: readStatus(snapshot, ['alerts', 'nodes', 'queues']),
    filter: serviceFilter ?? '',
    serviceNames: [...names].sort(naturalCompare),
    firing: firing.map((alert) => toFiringView(alert, snapshot.generatedAt)),
    history: history.slice(0, HISTORY_ROWS).map(toHistoryView),
    historyTotal: history.length,
    rules: config.rules.map((rule) => ({
      name: rule.name,
      condition: describeCondition({ metric: rule.metric, op: rule.op, threshold: rule.threshold }),
      for: rule.metric === 'queue_failed' ? `${formatDuration(rule.forMs)} (window ${formatDuration(rule.windowMs)})` : formatDuration(rule.forMs),
      clear: rule.metric === 'node_lost' ? 'node back' : `${rule.op === 'above' ? 'below' : 'above'} ${rule.metric === 'queue_wait' ? waitText(rule.clear) : rule.clear}`,
      cooldown: formatDuration(rule.cooldownMs),
      scope: [rule.service && `service ${rule.service}`, rule.queue && `queue ${rule.queue}`].filter(Boolean).join(', ') || 'all',
      channels: [...rule.channels],
    })),
    channels: config.channels.map((channel) => ({ name: channel.name, type: channel.type, url: maskUrl(channel.url) })),
    rulesFile: config.file,
  }
}

/** The JSON of `GET /api/pulse/alerts`: stored records as they are (channel names, never URLs). */
export function toAlertsApi(snapshot: Snapshot, serviceFilter?: string) {
  const { firing, history } = filterAlerts(alertsOf(snapshot), serviceFilter)
  return { generatedAt: snapshot.generatedAt, firing, history }
}

/**
 * The firing list grouped by target, built once per snapshot (keyed by its alerts part), so a page
 * of many cards or rows costs one pass over the firing list. Alerts without a key are left out.
 */
function groupedOncePerSnapshot<T>(cache: WeakMap<AlertsPart, Map<string, T[]>>, part: AlertsPart, keyOf: (alert: FiringAlert) => string | undefined, viewOf: (alert: FiringAlert) => T): Map<string, T[]> {
  let index = cache.get(part)
  if (!index) {
    index = new Map()
    for (const alert of part.firing) {
      const key = keyOf(alert)
      if (key === undefined) continue
      const list = index.get(key) ?? []
      list.push(viewOf(alert))
      index.set(key, list)
    }
    cache.set(part, index)
  }
  return index
}

const byNode = new WeakMap<AlertsPart, Map<string, FiringView[]>>()

/** Alerts firing for one node (its cpu, memory, disk and node-lost alerts), for the node cards. */
export function firingForNode(snapshot: Snapshot, service: string, nodeId: string): readonly FiringView[] {
  const index = groupedOncePerSnapshot(
    byNode,
    alertsOf(snapshot),
    (alert) => (alert.nodeId === undefined ? undefined : `${alert.service}/${alert.nodeId}`),
    // minute steps on cards: a seconds counter would change the card's markup every tick, so
    // a page holding a firing alert could never answer a poll with 304
    (alert) => ({ ...toFiringView(alert, snapshot.generatedAt), firingFor: minuteDuration(snapshot.generatedAt - alert.firedAt) }),
  )
  return index.get(`${service}/${nodeId}`) ?? []
}

const byQueue = new WeakMap<AlertsPart, Map<string, QueueFlag[]>>()

/** Alerts firing for one queue, for the queues table and page. */
export function firingForQueue(snapshot: Snapshot, service: string, queue: string): readonly QueueFlag[] {
  const index = groupedOncePerSnapshot(
    byQueue,
    alertsOf(snapshot),
    (alert) => (alert.queue === undefined ? undefined : queueId(alert.service, alert.queue)),
    (alert) => ({ rule: alert.rule, metric: alert.metric, title: `${describeCondition(alert)}: ${valueText(alert)}` }),
  )
  return index.get(queueId(service, queue)) ?? []
}

function filterAlerts(part: AlertsPart, service?: string) {
  if (!service) return part
  return { firing: part.firing.filter((a) => a.service === service), history: part.history.filter((e) => e.service === service) }
}

function toFiringView(alert: FiringAlert, now: number): FiringView {
  return {
    rule: alert.rule,
    metric: alert.metric,
    target: alert.target,
    service: alert.service,
    ...(alert.nodeId !== undefined && { nodeId: alert.nodeId }),
    ...(alert.queue !== undefined && { queue: alert.queue }),
    value: valueText(alert),
    condition: describeCondition(alert),
    firedAt: alert.firedAt,
    firingFor: roughDuration(Math.max(0, now - alert.firedAt)),
    message: alert.channels.length === 0 ? 'no channel' : alert.notified ? 'sent' : 'not sent (cool-down)',
    channels: alert.channels,
  }
}

function toHistoryView(event: AlertHistoryEntry): HistoryView {
  const channels =
    event.message === 'queued'
      ? event.channels.map((name) => {
          const result = [...event.deliveries].reverse().find((d) => d.channel === name)
          return { name, ok: result ? result.ok : null, attempts: result?.attempts ?? 0, ...(result?.error !== undefined && { error: result.error }) }
        })
      : []
  return {
    id: event.id,
    kind: event.kind,
    at: event.at,
    rule: event.rule,
    target: event.target,
    service: event.service,
    value: valueText(event),
    condition: describeCondition(event),
    delivery: deliveryOf(event, channels),
    channels,
  }
}

function deliveryOf(event: AlertHistoryEntry, channels: HistoryView['channels']): HistoryView['delivery'] {
  if (event.message === 'cooldown') return 'cool-down'
  if (event.message === 'none' || channels.length === 0) return 'no message'
  if (channels.some((c) => c.ok === null)) return 'sending'
  const delivered = channels.filter((c) => c.ok).length
  return delivered === channels.length ? 'delivered' : delivered === 0 ? 'failed' : 'partial'
}

function valueText(alert: Pick<FiringAlert, 'metric' | 'value'>): string {
  return alert.metric === 'node_lost' ? formatValue('node_lost', alert.value) : `${metricLabel(alert.metric)} ${formatValue(alert.metric, alert.value)}`
}

/** `45s`, `12m`, `3h 5m`, `2d 4h`: how long something has lasted, to the unit that matters. */
/** As roughDuration, in whole minutes: "<1m", "3m", "2h 5m". */
export function minuteDuration(ms: number): string {
  return ms < 60_000 ? '<1m' : roughDuration(Math.floor(ms / 60_000) * 60_000)
}

export function roughDuration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`
  return h % 24 ? `${Math.floor(h / 24)}d ${h % 24}h` : `${Math.floor(h / 24)}d`
}
