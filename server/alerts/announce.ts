/**
 * What one evaluation says to the channels. Its recorded events are grouped by rule and kind: one
 * target gets today's single message, and many targets of one rule changing state the same way
 * (a Redis restart losing 500 nodes, 300 queues draining at once) get one grouped message per
 * channel, so a mass event is a handful of messages, not thousands. The history keeps one event per
 * target either way, and a grouped message's outcome is recorded against each of them.
 */
import type { Delivery } from './dispatcher.js'
import { GROUP_TARGETS_LISTED, type AlertMessage, type ChannelMessage, type GroupedAlertMessage, type MessageKind } from './channels/message.js'
import type { ChannelConfig, HistoryEvent } from './schemas.js'

export interface RecordedEvent {
  /** the event's stream id */
  readonly id: string
  readonly event: HistoryEvent
}

export interface EventGroup {
  readonly rule: string
  readonly kind: HistoryEvent['kind']
  /** in the order they were evaluated */
  readonly events: RecordedEvent[]
}

/** Collects one evaluation's recorded events by rule and kind, in first-seen order. */
export function createEventGroups() {
  const groups = new Map<string, EventGroup>()
  return {
    add(event: HistoryEvent, id: string): void {
      const key = `${event.rule}|${event.kind}`
      let group = groups.get(key)
      if (!group) {
        group = { rule: event.rule, kind: event.kind, events: [] }
        groups.set(key, group)
      }
      group.events.push({ id, event })
    },
    list(): EventGroup[] {
      return [...groups.values()]
    },
  }
}

/**
 * The deliveries a group makes: one per channel of its rule, carrying the events whose message was
 * queued (not those held back by a cool-down). `gone` is never announced.
 */
export function deliveriesFor(group: EventGroup, channelByName: ReadonlyMap<string, ChannelConfig>): Delivery[] {
  if (group.kind === 'gone') return []
  const kind = group.kind
  const queued = group.events.filter((recorded) => recorded.event.message === 'queued')
  const first = queued[0]
  if (!first) return []
  const eventIds = queued.map((recorded) => recorded.id)
  const deliveries: Delivery[] = []
  // every event of a rule has the rule's channels
  for (const name of first.event.channels) {
    const channel = channelByName.get(name)
    if (!channel) continue
    const id = deliveryId(first.id, channel.name)
    const message: ChannelMessage = queued.length === 1 ? singleMessage(first.event, kind, id) : groupedMessage(queued, kind, id)
    deliveries.push({ eventIds, channel, message })
  }
  return deliveries
}

/**
 * A delivery's id: its first event's stream id (unique, and never reused by Redis) and the
 * channel. Retries send the same message object, so they carry the same id.
 */
export function deliveryId(firstEventId: string, channel: string): string {
  return `${firstEventId}:${channel}`
}

function singleMessage(event: HistoryEvent, kind: MessageKind, id: string): AlertMessage {
  const { message: _message, channels: _channels, kind: _kind, ...fields } = event
  return { ...fields, kind, id }
}

function groupedMessage(queued: readonly RecordedEvent[], kind: MessageKind, id: string): GroupedAlertMessage {
  const { event } = queued[0]!
  return {
    id,
    kind,
    rule: event.rule,
    metric: event.metric,
    op: event.op,
    threshold: event.threshold,
    at: event.at,
    count: queued.length,
    targets: queued.slice(0, GROUP_TARGETS_LISTED).map(({ event: e }) => ({
      target: e.target,
      service: e.service,
      ...(e.nodeId !== undefined && { nodeId: e.nodeId }),
      ...(e.queue !== undefined && { queue: e.queue }),
      value: e.value,
      firedAt: e.firedAt,
    })),
  }
}
