/**
 * The generic webhook body: flat JSON a receiver can route on. `state` is firing or resolved; a
 * repeat of a still-firing alert is `firing` with `repeat: true`. Times are epoch milliseconds.
 */
import type { AlertMessage } from './message.js'

export function webhookPayload(message: AlertMessage) {
  return {
    rule: message.rule,
    metric: message.metric,
    target: message.target,
    service: message.service,
    ...(message.nodeId !== undefined && { nodeId: message.nodeId }),
    ...(message.queue !== undefined && { queue: message.queue }),
    value: message.value,
    threshold: message.threshold,
    op: message.op,
    state: message.kind === 'resolved' ? ('resolved' as const) : ('firing' as const),
    repeat: message.kind === 'reminder',
    firedAt: message.firedAt,
    at: message.at,
  }
}
