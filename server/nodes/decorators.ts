/**
 * What other areas add to a node card (firing alerts, for one), without the nodes area knowing
 * them: an area registers a decorator, and each render binds every decorator to the snapshot it
 * renders, so a card never mixes what two snapshots say.
 */
import type { Snapshot } from '../collector/snapshot.js'

/** What one area shows on a node card; the template calls it per card. */
export type NodeCardLookup = (service: string, nodeId: string) => unknown
export type NodeCardDecorator = (snapshot: Snapshot) => NodeCardLookup

export interface NodeCardDecorators {
  /** `name` is what the node card template reads: `it.decorations[name]` */
  add(name: string, decorator: NodeCardDecorator): void
  /** every registered lookup bound to one snapshot, by name */
  bind(snapshot: Snapshot): Readonly<Record<string, NodeCardLookup>>
}

declare module 'fastify' {
  interface FastifyInstance {
    nodeCardDecorators: NodeCardDecorators
  }
}

export function createNodeCardDecorators(): NodeCardDecorators {
  const decorators = new Map<string, NodeCardDecorator>()
  return {
    add(name, decorator) {
      if (decorators.has(name)) throw new Error(`a node card decorator named ${name} is already registered`)
      decorators.set(name, decorator)
    },
    bind(snapshot) {
      return Object.fromEntries([...decorators].map(([name, decorator]) => [name, decorator(snapshot)]))
    },
  }
}
