/**
 * The queues one node reports, for its node page: the queues area's decorator on the node views
 * (`app.nodeCardDecorators`, name `queues`). From the snapshot's queue records whose `nodeId` is
 * the node's (an agent's own queues; discovered queues belong to no node), indexed once per
 * snapshot on first use, and bounded: a node page lists at most NODE_QUEUES of them.
 */
import type { Snapshot } from '../collector/snapshot.js'
import { queueUrl } from '../http/urls.js'
import { queueRecordsOf, type QueueRecord, type QueuesPart } from './records.js'
import { attentionOf, type QueueAttention } from './service.js'
import { NO_FLAGS, type QueueFlagLookup } from './flags.js'

export const NODE_QUEUES = 50

export interface NodeQueues {
  /** at most NODE_QUEUES, by name */
  readonly items: readonly (QueueRecord & { href: string; attention: QueueAttention })[]
  /** every queue of the node */
  readonly total: number
}

const NONE: NodeQueues = { items: [], total: 0 }
const byNode = new WeakMap<QueuesPart, Map<string, QueueRecord[]>>()

/** `flags`: the alerts firing per queue, bound to the same snapshot */
export function queuesOfNode(snapshot: Snapshot, service: string, nodeId: string, flags: QueueFlagLookup = NO_FLAGS): NodeQueues {
  const part = snapshot.queues
  if (!part) return NONE
  let index = byNode.get(part)
  if (!index) {
    index = new Map()
    // records are sorted by service, then name: each node's list comes out sorted by name
    for (const record of queueRecordsOf(snapshot)) {
      if (record.nodeId === undefined) continue
      const key = `${record.service}/${record.nodeId}`
      const list = index.get(key)
      if (list) list.push(record)
      else index.set(key, [record])
    }
    byNode.set(part, index)
  }
  const records = index.get(`${service}/${nodeId}`)
  if (!records) return NONE
  return { items: records.slice(0, NODE_QUEUES).map((r) => ({ ...r, href: queueUrl(r.service, r.name), attention: attentionOf(r, flags) })), total: records.length }
}
