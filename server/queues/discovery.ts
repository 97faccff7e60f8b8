/**
 * Finds queues in the console's Redis without any agent: one SCAN walk per discovery driver
 * (./drivers/registry.ts; BullMQ by its `{prefix}:{queue}:meta` hash, Laravel by its
 * `{prefix}queues:{queue}` list or its `:delayed`/`:reserved` sets). The same walks collect the
 * services that write a protocol queue snapshot (`…queues:{service}` matches the Laravel pattern
 * too; protocol keys are recognised first and never taken for any driver's). Keys under a hash tag
 * are found alike (`{bull}:emails:meta`, `bull:{emails}:meta`, `queues:{default}`): on a Cluster
 * the walk covers every master.
 *
 * SCAN cost grows with the whole keyspace, not the matches, so a pass is split
 * across ticks: at most `stepsPerTick` SCAN steps of COUNT 1000 per tick, the cursor continued on
 * the next tick. A new pass starts `everyMs` after the previous one started. Until a pass ends, the
 * queues of the previous pass are kept, plus whatever the current pass has found so far; when it
 * ends, its findings replace them (so a deleted queue disappears).
 */
import type { RedisClient } from '../redis/client.js'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import { createShardScan, type ShardScan } from '../redis/shards.js'
import { isValidQueueName } from '@gravito/quasar/protocol'
import type { ConsoleKeys } from '../redis/keys.js'
import type { DiscoveredRef, DiscoveryDriver } from './drivers/contract.js'
import { DISCOVERY_DRIVERS } from './drivers/registry.js'

export type { DiscoveredRef } from './drivers/contract.js'

export interface ScannerOptions {
  everyMs?: number
  stepsPerTick?: number
  /** queues and protocol services kept per pass */
  maxFound?: number
  /** the queue systems looked for; the registry's unless a test brings its own */
  drivers?: readonly DiscoveryDriver[]
}

interface Pass {
  startedAt: number
  /** each driver's walk over every shard, or null once the walk is over */
  walks: Map<DiscoveryDriver, ShardScan | null>
  refs: Map<string, DiscoveredRef>
  services: Set<string>
}

const SCAN_COUNT = 1000
/** a prefix longer than this is no queue system's: the key is someone else's */
const PREFIX_MAX = 256

export function refId(ref: DiscoveredRef): string {
  return `${ref.driver}|${ref.prefix}|${ref.queue}`
}

export function createQueueScanner(redis: RedisClient, keys: ConsoleKeys, badData: BadDataLog, options: ScannerOptions = {}) {
  const { everyMs = 10_000, stepsPerTick = 20, maxFound = 2_000, drivers = DISCOVERY_DRIVERS } = options
  let done: Pick<Pass, 'refs' | 'services'> = { refs: new Map(), services: new Set() }
  let pass: Pass | null = null
  let lastStartAt = Number.NEGATIVE_INFINITY
  /** bumped whenever the set of refs may have changed, so callers re-read counts only then */
  let generation = 0

  function take(key: string, driver: DiscoveryDriver, into: Pass): void {
    const service = keys.parseQueues(key)
    if (service !== null) {
      if (into.services.size < maxFound) into.services.add(service)
      return
    }
    // a protocol-shaped key whose service breaks the name rule is an agent's bad key, no driver's
    if (key.startsWith(`${keys.prefix}queues:`)) {
      badData.report(key, 'key name outside the name rule')
      return
    }
    // every other key under the protocol's prefix is the protocol's too, never a queue system's:
    // an agent may write any key under its own node prefix (docs/security.md), so one named like
    // a BullMQ meta (`…node:billing:x:{q}:meta`) must not make the console read a forged queue
    if (key.startsWith(keys.prefix)) return
    const found = driver.refOf(key)
    if (found) add(into, { driver: driver.driver, ...found }, key)
  }

  function add(into: Pass, ref: DiscoveredRef, key: string): void {
    if (!isValidQueueName(ref.queue) || ref.prefix.length > PREFIX_MAX) {
      badData.report(key, 'queue name or prefix out of bounds (1 to 256 characters, no control characters)')
      return
    }
    const id = refId(ref)
    if (into.refs.has(id) || into.refs.size >= maxFound) return
    into.refs.set(id, ref)
    if (!done.refs.has(id)) generation++
  }

  async function step(now: number): Promise<void> {
    if (!pass) {
      // `now < lastStartAt`: the clock moved back; start over rather than wait for it
      if (now - lastStartAt < everyMs && now >= lastStartAt) return
      lastStartAt = now
      // a fresh walk per pass: each covers every master of a Cluster, the one server otherwise
      pass = { startedAt: now, walks: new Map(drivers.map((driver) => [driver, createShardScan(redis, { match: driver.pattern, count: SCAN_COUNT })])), refs: new Map(), services: new Set() }
    }
    const current = pass
    const walking = () => [...current.walks].filter((entry): entry is [DiscoveryDriver, ShardScan] => entry[1] !== null)
    for (let steps = 0; steps < stepsPerTick && walking().length > 0; steps++) {
      // every walk's next step at once (one round trip); a driver's keys are taken in the registry's order
      const results = await Promise.all(walking().map(async ([driver, walk]) => ({ driver, step: await settle(walk) })))
      for (const { driver, step } of results)
        current.walks.set(
          driver,
          next(step, current.walks.get(driver)!, (key) => take(key, driver, current)),
        )
    }
    if (walking().length === 0) {
      if (current.refs.size !== done.refs.size || [...done.refs.keys()].some((id) => !current.refs.has(id))) generation++
      done = { refs: current.refs, services: current.services }
      pass = null
    }
  }

  /** the walk still under way, or null when this pattern's walk is over (finished, or refused by Redis) */
  function next(step: ScanStepRead, walk: ShardScan, onKey: (key: string) => void): ShardScan | null {
    if (!step.ok) {
      // a refused SCAN (NOPERM) ends only this walk; anything else concerns every key and is thrown
      if (!isKeyError(step.error)) throw step.error
      badData.report('SCAN', shortReason(step.error))
      return null
    }
    for (const key of step.keys) onKey(key)
    return step.finished ? null : walk
  }

  return {
    step,
    /** queues of the last finished pass, plus those found so far in the current one */
    refs(): DiscoveredRef[] {
      if (!pass) return [...done.refs.values()]
      const merged = new Map(done.refs)
      for (const [id, ref] of pass.refs) if (merged.size < maxFound) merged.set(id, ref)
      return [...merged.values()]
    },
    /** services that wrote a protocol queue snapshot, from the same walk */
    services(): ReadonlySet<string> {
      if (!pass) return done.services
      return new Set([...done.services, ...pass.services])
    },
    generation: () => generation,
  }
}

type ScanStepRead = { readonly ok: true; readonly keys: string[]; readonly finished: boolean } | { readonly ok: false; readonly error: unknown }

/** one step of a walk, its error kept for the caller (the other walks' steps are still taken) */
async function settle(walk: ShardScan): Promise<ScanStepRead> {
  try {
    const { keys, finished } = await walk.step()
    return { ok: true, keys, finished }
  } catch (error) {
    return { ok: false, error }
  }
}
