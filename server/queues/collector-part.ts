/**
 * The queues part of each snapshot: every queue of every service, from three sources.
 * - Agents' queue snapshots (`queues:{service}`), read every tick for the services that beat plus
 *   those found by the discovery walk (services that report queues without beating).
 * - Agents' heartbeats: a queue listed in a live node's beat but absent from every snapshot (an
 *   agent that writes only the beat) is shown from the beat's counts.
 * - Discovery: BullMQ and Laravel queues found in the console's Redis with no agent at all,
 *   read-only, re-read about every 10 s (not every tick). A discovered queue is its Redis (the
 *   console's), key prefix and name; its service names the prefix readably (discoveredServices),
 *   one service per driver and prefix, so `{bull}` and `app:bull` never merge. A discovered queue
 *   that an agent also reports is shown once, as the agent's, only when it is the same queue: same
 *   driver, prefix and name, from an agent whose queues live in the console's Redis.
 * Throughput is computed here from successive readings (./throughput.ts). Bad keys are skipped and
 * logged; they never cost the other queues their tick.
 */
import type { RedisClient } from '../redis/client.js'
import { shortHash, validNameFrom, type ReadQueue, type ReadQueueSnapshot } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { CollectorPart, NodeRecord, Snapshot } from '../collector/snapshot.js'
import type { ConsoleKeys } from '../redis/keys.js'
import { refId, type DiscoveredRef, type ScannerOptions } from './discovery.js'
import { createQueueStore } from './store.js'
import { discoveryDriver, DISCOVERY_DRIVERS } from './drivers/registry.js'
import type { DiscoveryDriver } from './drivers/contract.js'
import { byServiceThenName, queueId, sameQueue, type QueueRecord, type QueuesPart } from './records.js'
import { agentQueueCapability, DISCOVERED_CAPABILITY } from './capability.js'
import { createThroughput } from './throughput.js'

declare module '../collector/snapshot.js' {
  interface SnapshotParts {
    readonly queues?: QueuesPart
  }
}

/** services whose snapshots are read per tick; more than this and the rest wait for a later version */
const MAX_SERVICES = 2_000

export function createQueuesCollector(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog, options: ScannerOptions = {}): CollectorPart<'queues'> {
  const everyMs = options.everyMs ?? 10_000
  const store = createQueueStore(redis, keys, badData, options)
  const scanner = store.discovery
  const throughput = createThroughput()
  let discovered: QueueRecord[] = []
  let lastReadAt = Number.NEGATIVE_INFINITY
  let readGeneration = -1

  async function readDiscovered(now: number): Promise<void> {
    readGeneration = scanner.generation()
    lastReadAt = now
    const refs = scanner.refs()
    const readings = await store.readDiscovered(refs, now)
    const services = discoveredServices(refs, options.drivers)
    const records: QueueRecord[] = []
    for (const counts of readings) {
      for (const [ref, reading] of counts) {
        const service = services.get(refId(ref))!
        // a driver without completed or processed counts gives no rate
        const rate = throughput.observe(`discovered|${service}|${ref.queue}`, now, reading)
        records.push({ service, name: ref.queue, prefix: ref.prefix, driver: ref.driver, source: 'discovered', ...DISCOVERED_CAPABILITY, ...reading, ...(rate === undefined ? {} : { throughput: rate }), timestamp: now })
      }
    }
    discovered = records
  }

  async function collect(now: number, previous: Snapshot): Promise<QueuesPart> {
    await scanner.step(now)
    const services = new Set(scanner.services())
    for (const node of previous.nodes) if (services.size < MAX_SERVICES) services.add(node.service)
    const due = now - lastReadAt >= everyMs || now < lastReadAt || scanner.generation() !== readGeneration
    const [snapshots] = await Promise.all([store.readSnapshots([...services].slice(0, MAX_SERVICES)), due ? readDiscovered(now) : null])

    const owners = queueOwners(previous.nodes)
    const items = new Map<string, QueueRecord>()
    /** agent queues whose snapshot says they live in the console's Redis */
    const inConsoleRedis = new Set<string>()
    for (const [service, snapshot] of snapshots) {
      for (const queue of snapshot.queues) {
        const id = queueId(service, queue.name)
        if (items.has(id)) continue
        const namedNode = queue.nodeId ?? snapshot.nodeId
        items.set(id, fromAgent(service, queue, snapshot, namedNode ?? owners.get(id)?.nodeId, namedNode))
        if (snapshot.sharedRedis === true) inConsoleRedis.add(id)
      }
    }
    for (const [id, owner] of owners) {
      if (!items.has(id)) items.set(id, fromAgent(owner.service, owner.queue, { timestamp: owner.at }, owner.nodeId))
    }
    const agentQueues = [...items.entries()].filter(([id]) => inConsoleRedis.has(id)).map(([, item]) => item)
    for (const record of discovered) {
      const found = { driver: record.driver, queue: record.name, prefix: record.prefix ?? '' }
      if (agentQueues.some((agent) => sameQueue(agent, found))) continue
      // an agent's service of the same name holds another queue of this name: the discovered one
      // stays visible under a service of its own rather than vanish behind it
      let shown = record
      if (items.has(queueId(record.service, record.name))) shown = { ...record, service: validNameFrom(`${record.service}~found`) }
      const id = queueId(shown.service, shown.name)
      if (!items.has(id)) items.set(id, shown)
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
      ...(queue.prefix === undefined ? {} : { prefix: queue.prefix }),
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
      ...(m.isPaused === undefined ? {} : { isPaused: m.isPaused }),
      ...(m.waitingChildren === undefined ? {} : { waitingChildren: m.waitingChildren }),
      ...(m.rateLimitedMs === undefined ? {} : { rateLimitedMs: m.rateLimitedMs }),
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

/** The service a discovered queue is shown under: its key prefix, readable and a valid name, as its driver reads it. */
export function discoveredService(ref: DiscoveredRef, drivers: readonly DiscoveryDriver[] = DISCOVERY_DRIVERS): string {
  return discoveryDriver(ref.driver, drivers).serviceOf(ref.prefix)
}

/**
 * discoveredService for every ref, one service per driver and prefix: when two of them would
 * share a name (a BullMQ prefix `laravel` and Laravel keys without a prefix), every one but the
 * first, in a fixed order, gets its hash, so they are never shown as one service.
 */
export function discoveredServices(refs: readonly DiscoveredRef[], drivers: readonly DiscoveryDriver[] = DISCOVERY_DRIVERS): Map<string, string> {
  const owner = new Map<string, string>()
  const result = new Map<string, string>()
  for (const ref of [...refs].sort((a, b) => (refId(a) < refId(b) ? -1 : 1))) {
    const origin = `${ref.driver}|${ref.prefix}`
    let service = discoveredService(ref, drivers)
    const taken = owner.get(service)
    if (taken !== undefined && taken !== origin) service = validNameFrom(`${service}-${shortHash(origin)}`)
    owner.set(service, origin)
    result.set(refId(ref), service)
  }
  return result
}
