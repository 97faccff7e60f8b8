/**
 * The generic webhook body: flat JSON a receiver can route on. `state` is firing or resolved; a
 * repeat of a still-firing alert is `firing` with `repeat: true`. Times are epoch milliseconds.
 * `id` names the delivery: a retry carries the same id, a new alert a new one.
 *
 * One target gets the single shape (unchanged since the first version, plus `id`). Many targets of
 * one rule changing state in one evaluation get the grouped shape: `count` and `targets` instead of
 * `target`, `service`, `nodeId`, `queue`, `value` and `firedAt`, and a `summary` line.
 */
import { isGrouped, summarizeGroup, type AlertMessage, type ChannelMessage, type GroupedAlertMessage } from './message.js'

export function webhookPayload(message: ChannelMessage) {
  return isGrouped(message) ? groupedPayload(message) : singlePayload(message)
}

function singlePayload(message: AlertMessage) {
  return {
    id: message.id,
    rule: message.rule,
    metric: message.metric,
    target: message.target,
    service: message.service,
    ...(message.nodeId !== undefined && { nodeId: message.nodeId }),
    ...(message.queue !== undefined && { queue: message.queue }),
    value: message.value,
    threshold: message.threshold,
    op: message.op,
    state: state(message),
    repeat: message.kind === 'reminder',
    firedAt: message.firedAt,
    at: message.at,
  }
}

function groupedPayload(message: GroupedAlertMessage) {
  return {
    id: message.id,
    rule: message.rule,
    metric: message.metric,
    threshold: message.threshold,
    op: message.op,
    state: state(message),
    repeat: message.kind === 'reminder',
    at: message.at,
    count: message.count,
    targets: message.targets.map((target) => ({
      target: target.target,
      service: target.service,
      ...(target.nodeId !== undefined && { nodeId: target.nodeId }),
      ...(target.queue !== undefined && { queue: target.queue }),
      value: target.value,
      firedAt: target.firedAt,
    })),
    summary: summarizeGroup(message),
  }
}

function state(message: ChannelMessage): 'firing' | 'resolved' {
  return message.kind === 'resolved' ? 'resolved' : 'firing'
}
