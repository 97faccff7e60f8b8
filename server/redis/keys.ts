/**
 * The console's Redis keys: the protocol's keys (shared with every agent) plus the keys only the
 * console writes. Nothing outside server/redis builds a key by hand.
 */
import { createKeys } from '@gravito/quasar/protocol'

export function createConsoleKeys(prefix: string) {
  const protocol = createKeys(prefix)
  return {
    ...protocol,
    /** sorted sets of history samples, one per node and resolution */
    nodeHistory: (service: string, nodeId: string, resolution: string) =>
      `${prefix}hist:node:${service}:${nodeId}:${resolution}`,
  }
}

export type ConsoleKeys = ReturnType<typeof createConsoleKeys>
