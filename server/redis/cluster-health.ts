/**
 * Which masters of a Redis Cluster serve their slots, asked of each master on its own connection.
 * A Cluster is "unreachable" only when no master answers; a master that does not answer, or that
 * answers but refuses commands (CLUSTERDOWN), is a degraded shard named by its address and its
 * slot ranges, so a page can say which part of the data is not being read.
 *
 * With Redis' default `cluster-require-full-coverage yes`, one master down makes every master
 * report `cluster_state:fail` and refuse every keyed command: all shards are listed as refusing,
 * and nothing is read until the master is back. With `no`, the other masters keep serving their
 * slots and only the missing master is listed.
 */
import type { Cluster, Redis } from 'ioredis'

export interface DegradedShard {
  /** host:port of the master */
  readonly address: string
  /** the slots it holds, as ranges: `0-5460`, `12000` */
  readonly slots: readonly string[]
  /** `down`: no answer; `refusing`: it answers, but the Cluster refuses commands on its slots */
  readonly state: 'down' | 'refusing'
  /** plain words, no agent data: "connection refused", "cluster_state:fail" */
  readonly reason: string
}

export interface ClusterProbe {
  /** at least one master answered */
  readonly reachable: boolean
  /** every master that does not serve its slots, in address order */
  readonly degraded: readonly DegradedShard[]
}

export async function probeCluster(cluster: Cluster): Promise<ClusterProbe> {
  const ranges = slotRanges(cluster.slots)
  // ioredis drops a master's connection once it closes, while the slot map (read from the masters
  // that answer) still gives it its slots: the slot map says which masters there should be
  const connections = new Map(cluster.nodes('master').map((node) => [addressOf(node), node]))
  const addresses = [...new Set([...ranges.keys(), ...connections.keys()])].sort()
  const answers = await Promise.all(addresses.map((address) => askMaster(connections.get(address))))
  const degraded: DegradedShard[] = []
  addresses.forEach((address, i) => {
    const answer = answers[i]!
    if (answer.state !== 'ok') degraded.push({ address, slots: ranges.get(address) ?? [], state: answer.state, reason: answer.reason })
  })
  // a master back after an outage gets a connection again only from a new slot map; ask for one
  // while any master is missing, so recovery shows on the next probe rather than at a later MOVED
  if (degraded.some((shard) => !connections.has(shard.address))) cluster.refreshSlotsCache()
  return { reachable: answers.some((answer) => answer.state !== 'down'), degraded }
}

type MasterAnswer = { state: 'ok' } | { state: 'down' | 'refusing'; reason: string }

async function askMaster(node: Redis | undefined): Promise<MasterAnswer> {
  if (!node) return { state: 'down', reason: 'connection lost' }
  // a connection that is not up would queue the question until its command timeout
  if (node.status !== 'ready') return { state: 'down', reason: `no connection (${node.status})` }
  try {
    const info = String(await node.cluster('INFO'))
    const state = /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown'
    return state === 'ok' ? { state: 'ok' } : { state: 'refusing', reason: `cluster_state:${state}` }
  } catch (error) {
    return { state: 'down', reason: error instanceof Error ? error.message.split(/\s+/).slice(0, 6).join(' ') : 'no answer' }
  }
}

function addressOf(node: Redis): string {
  return `${node.options.host}:${node.options.port}`
}

/** ioredis' slot table (slot → node keys, the master first) as ranges per master address */
export function slotRanges(slots: readonly (readonly string[] | undefined)[]): Map<string, string[]> {
  const ranges = new Map<string, string[]>()
  let start = 0
  for (let slot = 0; slot <= slots.length; slot++) {
    const owner = slots[start]?.[0]
    if (slot < slots.length && slots[slot]?.[0] === owner) continue
    if (owner !== undefined) {
      const list = ranges.get(owner) ?? []
      list.push(slot - 1 === start ? String(start) : `${start}-${slot - 1}`)
      ranges.set(owner, list)
    }
    start = slot
  }
  return ranges
}
