/**
 * The queues part of each snapshot: every queue of every service, from three sources.
 * - Agents' queue snapshots (`queues:{service}`), read every tick for the services that beat plus
 *   those found by the discovery walk (services that report queues without beating).
 * - Agents' heartbeats: a queue listed in a live node's beat but absent from every snapshot (an
 *   agent that writes only the beat) is shown from the beat's counts.
 * - Discovery: BullMQ and Laravel queues found in the console's Redis with no agent at all,
 *   read-only, re-read about every 10 s (not every tick). Their service is where they were found:
 *   the BullMQ key prefix (`bull` by default), or `laravel` (Laravel keys without a prefix; with a
 *   prefix such as `laravel_database_`, the prefix without its trailing `_`). A discovered queue
 *   that an agent also reports (same driver and name) is shown once, as the agent's.
 * Throughput is computed here from successive readings (./throughput.ts). Bad keys are skipped and
 * logged; they never cost the other queues their tick.
 */
import type { Redis } from 'ioredis'
import { isValidName, type ReadQueue, type ReadQueueSnapshot } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { CollectorPart, NodeRecord, Snapshot } from '../collector/snapshot.js'
import type { ConsoleKeys } from '../redis/keys.js'
import { createAgentSnapshotReader } from './agent-reader.js'
import { createBullmqReader } from './bullmq-reader.js'
import { createQueueScanner, type DiscoveredRef, type ScannerOptions } from './discovery.js'
import { createLaravelReader } from './laravel-reader.js'
import { byServiceThenName, queueId, type QueueRecord, type QueuesPart } from './records.js'
import { agentQueueCapability, DISCOVERED_CAPABILITY } from '../commands/capability.js'
import { createThroughput } from './throughput.js'

declare module '../collector/snapshot.js' {
  interface SnapshotParts {
    readonly queues?: QueuesPart
  }
}

/** services whose snapshots are read per tick; more than this and the rest wait for a later version */
const MAX_SERVICES = 2_000

export function createQueuesCollector(redis: Redis, keys: ConsoleKeys, badData: BadDataLog, options: ScannerOptions = {}): CollectorPart<'queues'> {
  const everyMs = options.everyMs ?? 10_000
  const scanner = createQueueScanner(redis, keys, badData, options)
  const readSnapshots = createAgentSnapshotReader(redis, keys, badData)
  const readBullmq = createBullmqReader(redis, badData)
  const readLaravel = createLaravelReader(redis, badData)
  const throughput = createThroughput()
  let discovered: QueueRecord[] = []
  let lastReadAt = Number.NEGATIVE_INFINITY
  let readGeneration = -1

  async function readDiscovered(now: number): Promise<void> {
    readGeneration = scanner.generation()
    lastReadAt = now
    const refs = scanner.refs()
    const [bullmq, laravel] = await Promise.all([
      readBullmq(refs.filter((ref) => ref.driver === 'bullmq'), now),
      readLaravel(refs.filter((ref) => ref.driver === 'laravel'), now),
    ])
    const records: QueueRecord[] = []
    for (const [ref, reading] of bullmq) {
      const service = discoveredService(ref)
      const rate = throughput.observe(`discovered|${service}|${ref.queue}`, now, reading)
      records.push({ service, name: ref.queue, driver: 'bullmq', source: 'discovered', ...DISCOVERED_CAPABILITY, ...reading, ...(rate === undefined ? {} : { throughput: rate }), timestamp: now })
    }
    for (const [ref, reading] of laravel) {
      records.push({ service: discoveredService(ref), name: ref.queue, driver: 'laravel', source: 'discovered', ...DISCOVERED_CAPABILITY, failed: null, ...reading, timestamp: now })
    }
    discovered = records
  }

  async function collect(now: number, previous: Snapshot): Promise<QueuesPart> {
    await scanner.step(now)
    const services = new Set(scanner.services())
    for (const node of previous.nodes) if (services.size < MAX_SERVICES) services.add(node.service)
    const due = now - lastReadAt >= everyMs || now < lastReadAt || scanner.generation() !== readGeneration
    const [snapshots] = await Promise.all([readSnapshots([...services].slice(0, MAX_SERVICES)), due ? readDiscovered(now) : null])

    const owners = queueOwners(previous.nodes)
    const items = new Map<string, QueueRecord>()
    for (const [service, snapshot] of snapshots) {
      for (const queue of snapshot.queues) {
        const id = queueId(service, queue.name)
        if (items.has(id)) continue
        const namedNode = queue.nodeId ?? snapshot.nodeId
        items.set(id, fromAgent(service, queue, snapshot, namedNode ?? owners.get(id)?.nodeId, namedNode))
      }
    }
    for (const [id, owner] of owners) {
      if (!items.has(id)) items.set(id, fromAgent(owner.service, owner.queue, { timestamp: owner.at }, owner.nodeId))
    }
    const agentQueues = new Set([...items.values()].map((item) => `${item.driver}|${item.name}`))
    for (const record of discovered) {
      const id = queueId(record.service, record.name)
      if (!items.has(id) && !agentQueues.has(`${record.driver}|${record.name}`)) items.set(id, record)
    }
    throughput.retain(new Set([...items.values()].map((item) => `${item.source}|${item.service}|${item.name}`)))
    return { items: [...items.values()].sort(byServiceThenName) }
  }

  /** snapshot entries whose declaration was already checked: a snapshot is re-parsed only when it changes */
  const declarationsChecked = new WeakSet<ReadQueue>()

  function fromAgent(service: string, queue: ReadQueue, snapshot: Pick<ReadQueueSnapshot, 'timestamp'>, nodeId: string | undefined, namedNode?: string): QueueRecord {
    const { skips, ...capability } = agentQueueCapability(queue, namedNode, nodeId)
    if (skips.length > 0 && !declarationsChecked.has(queue)) {
      declarationsChecked.add(queue)
      for (const skip of skips) badData.report(keys.queues(service), `queues[${JSON.stringify(queue.name)}].${skip.field}: ${skip.reason}`)
    }
    const base = {
      service,
      name: queue.name,
      driver: queue.driver,
      source: 'agent' as const,
      ...capability,
      timestamp: snapshot.timestamp,
      ...(nodeId === undefined ? {} : { nodeId }),
      ...(queue.skipped === undefined ? {} : { skipped: queue.skipped, skippedTotal: queue.skippedTotal ?? queue.skipped.length }),
    }
    // with an error the counts were not measured (the protocol's `waiting: 0` is only a filler):
    // they must not reach the table, the history or a backlog alert as zeros
    if (queue.error !== undefined) return { ...base, waiting: null, active: null, delayed: null, failed: null, error: queue.error }
    const m = queue.metrics
    const rate = throughput.observe(`agent|${service}|${queue.name}`, snapshot.timestamp, m)
    const record: QueueRecord = {
      ...base,
      // a count the agent sent in a bad form was dropped alone: unknown, never a zero
      waiting: m.waiting ?? null,
      active: m.active ?? null,
      delayed: m.delayed ?? null,
      failed: m.failed ?? null,
      ...(m.completed === undefined ? {} : { completed: m.completed }),
      ...(m.paused === undefined ? {} : { paused: m.paused }),
      ...(m.processed === undefined ? {} : { processed: m.processed }),
      ...(queue.oldestWaitingMs === undefined ? {} : { oldestWaitingMs: queue.oldestWaitingMs }),
      ...(rate === undefined ? {} : { throughput: rate }),
      ...(queue.failedJobs === undefined ? {} : { failedJobs: queue.failedJobs }),
    }
    return record
  }

  return { key: 'queues', initial: { items: [] }, collect }
}

interface Owner {
  service: string
  nodeId: string
  at: number
  queue: ReadQueue
}

/**
 * Which live node reports each queue in its heartbeat (the newest beat wins): the owner of a
 * snapshot that does not name its node, and the source of queues only a heartbeat carries.
 */
function queueOwners(nodes: readonly NodeRecord[]): Map<string, Owner> {
  const owners = new Map<string, Owner>()
  for (const node of nodes) {
    if (!node.keyPresent || !node.heartbeat.queues) continue
    for (const queue of node.heartbeat.queues) {
      const id = queueId(node.service, queue.name)
      const known = owners.get(id)
      if (!known || known.at < node.lastSeenAt) owners.set(id, { service: node.service, nodeId: node.nodeId, at: node.lastSeenAt, queue })
    }
  }
  return owners
}

/** See the module comment: where a discovered queue was found names its service. */
export function discoveredService(ref: DiscoveredRef): string {
  if (ref.driver === 'bullmq') return isValidName(ref.prefix) ? ref.prefix : 'bullmq'
  const trimmed = ref.prefix.replace(/[_.-]+$/, '')
  return trimmed !== '' && isValidName(trimmed) ? trimmed : 'laravel'
}
