/**
 * What other areas add to a queue's job rows (the commands area's buttons and last command, for
 * one), without the queues area knowing them. Rows depend on the viewer as well as the snapshot
 * (an operator sees buttons, a viewer does not), so a decorator takes both.
 */
import type { FastifyRequest } from 'fastify'
import type { Snapshot } from '../collector/snapshot.js'

/** Named values the row templates read as `it.decorations`. */
export type QueueRowDecorations = Readonly<Record<string, unknown>>
export type QueueRowDecorator = (snapshot: Snapshot, viewer: FastifyRequest) => QueueRowDecorations

export interface QueueRowDecorators {
  add(decorator: QueueRowDecorator): void
  /** every registered decorator's values for one snapshot and viewer, merged */
  bind(snapshot: Snapshot, viewer: FastifyRequest): QueueRowDecorations
}

declare module 'fastify' {
  interface FastifyInstance {
    queueRowDecorators: QueueRowDecorators
  }
}

export function createQueueRowDecorators(): QueueRowDecorators {
  const decorators: QueueRowDecorator[] = []
  return {
    add: (decorator) => void decorators.push(decorator),
    bind: (snapshot, viewer) => Object.assign({}, ...decorators.map((decorator) => decorator(snapshot, viewer))) as QueueRowDecorations,
  }
}
