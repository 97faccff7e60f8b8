/**
 * The agent queue tests' reads of the transport Redis: the queue snapshot (strictly read, nothing
 * skipped) and the heartbeat of one node, and a wait for an agent's transport connection.
 */
import type { Redis } from 'ioredis'
import { eventually } from '../../../test/helpers/eventually.js'
import { readQueueSnapshot, type ReadQueueSnapshot } from '../../src/protocol/index.js'
import type { QuasarAgent } from '../../src/index.js'

export function transportReaders(transport: Redis) {
  async function snapshotOf(service: string): Promise<ReadQueueSnapshot> {
    const raw = await transport.get(`gravito:quasar:queues:${service}`)
    if (raw === null) throw new Error('no snapshot')
    const read = readQueueSnapshot(JSON.parse(raw))
    if (!read.ok) throw new Error(read.error)
    if (read.skippedTotal > 0) throw new Error(`skipped: ${JSON.stringify(read.skipped)}`)
    return read.value
  }

  async function beatOf(service: string, nodeId: string) {
    const raw = await transport.get(`gravito:quasar:node:${service}:${nodeId}`)
    return raw === null ? null : JSON.parse(raw)
  }

  return { snapshotOf, beatOf }
}

/** A new agent's first beat waits for its transport connection, as start() does with 'ready'. */
export async function connected(agent: QuasarAgent): Promise<QuasarAgent> {
  await eventually(() => agent.transport.status === 'ready', 'transport connected')
  return agent
}
