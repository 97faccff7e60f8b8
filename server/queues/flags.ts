/**
 * What other areas say about a whole queue in the /queues table and on the queue page (the alerts
 * area: which of its rules fire for the queue), without the queues area knowing them. Each render
 * binds every decorator to the snapshot it draws, so a row never mixes what two snapshots say.
 */
import type { Snapshot } from '../collector/snapshot.js'

export interface QueueFlag {
  /** the rule's name (operator text: escape it) */
  readonly rule: string
  /** the alert metric, e.g. `queue_wait`, `queue_backlog` */
  readonly metric: string
  /** one line for a tooltip: `oldest waiting job older than 5m` */
  readonly title: string
}

export type QueueFlagLookup = (service: string, queue: string) => readonly QueueFlag[]
export type QueueFlagDecorator = (snapshot: Snapshot) => QueueFlagLookup

export interface QueueFlagDecorators {
  add(decorator: QueueFlagDecorator): void
  /** every registered lookup bound to one snapshot, their flags together */
  bind(snapshot: Snapshot): QueueFlagLookup
}

declare module 'fastify' {
  interface FastifyInstance {
    queueFlagDecorators: QueueFlagDecorators
  }
}

export const NO_FLAGS: QueueFlagLookup = () => []

export function createQueueFlagDecorators(): QueueFlagDecorators {
  const decorators: QueueFlagDecorator[] = []
  return {
    add: (decorator) => void decorators.push(decorator),
    bind(snapshot) {
      if (decorators.length === 0) return NO_FLAGS
      const lookups = decorators.map((decorator) => decorator(snapshot))
      return (service, queue) => lookups.flatMap((lookup) => lookup(service, queue))
    },
  }
}
