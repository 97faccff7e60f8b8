/**
 * A node's latest slow requests and jobs, for its node page: the slow area's decorator on the node
 * views (`app.nodeCardDecorators`, name `slow`). Indexed once per snapshot, lazily: the first
 * lookup walks the snapshot's entries (newest first, every service) and keeps at most
 * NODE_ENTRIES per node, so a page costs one pass however many nodes are looked up.
 */
import type { Snapshot } from '../collector/snapshot.js'
import type { SlowEntryRecord, SlowPart } from './collector-part.js'

/** entries a node page lists */
export const NODE_ENTRIES = 10

const byNode = new WeakMap<SlowPart, Map<string, SlowEntryRecord[]>>()

export function slowEntriesOfNode(snapshot: Snapshot, service: string, nodeId: string): readonly SlowEntryRecord[] {
  const part = snapshot.slow
  if (!part) return []
  let index = byNode.get(part)
  if (!index) {
    index = new Map()
    for (const entry of part.entries) {
      // service names have no '/', so the key is unambiguous
      const key = `${entry.service}/${entry.nodeId}`
      const list = index.get(key)
      if (!list) index.set(key, [entry])
      else if (list.length < NODE_ENTRIES) list.push(entry)
    }
    byNode.set(part, index)
  }
  return index.get(`${service}/${nodeId}`) ?? []
}
