/**
 * The one loop that reads Redis. Each tick runs every part (nodes, queues, …) and publishes a new
 * immutable Snapshot; listeners (history, alerts) are told after it is published. Ticks never
 * overlap: the next is scheduled only when the previous one has finished.
 *
 * Parts run, fail and recover on their own (./part-runner.ts): a part that throws or does not
 * answer in time keeps its last good data, and its status says how old that data is and why; the
 * other parts and the snapshot go on. "Redis unreachable" is decided by a separate probe (a PING on
 * a connection of its own), never by a part's error: a bug or one agent's bad key in one part must
 * not be reported as an outage, blank the other parts or reset every alert window.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.js'
import { createPartRunner, type PartRunner } from './part-runner.js'
import type { CollectorPart, PartStatus, RedisStatus, Snapshot, SnapshotParts } from './snapshot.js'
import type { DegradedShard } from '../redis/cluster-health.js'

export interface CollectorOptions {
  clock: Clock
  log: FastifyBaseLogger
  tickMs: number
  /**
   * resolves when Redis answers, rejects (or never settles) when it does not; on a Cluster it
   * resolves to the shards that do not serve their slots (`{ degraded }`), while others answer
   */
  probe: () => Promise<unknown>
  /** a part (or the probe) that has not answered after this long counts as failed for the tick */
  partTimeoutMs?: number
}

export type SnapshotListener = (snapshot: Snapshot, previous: Snapshot) => void | Promise<void>

export const DEFAULT_PART_TIMEOUT_MS = 10_000

export class Collector {
  #snapshot: Snapshot
  #timer: NodeJS.Timeout | null = null
  #running: Promise<Snapshot> | null = null
  #stopped = true
  /** set by stop(): a tick finishing after it publishes nothing more to the listeners */
  #closed = false
  readonly #runners: PartRunner[] = []
  readonly #listeners: SnapshotListener[] = []

  constructor(private readonly options: CollectorOptions) {
    // the other parts' initial values arrive with addPart, before the first tick can run
    this.#snapshot = Object.freeze({
      version: 0,
      generatedAt: 0,
      readMs: 0,
      redis: { up: false, downSince: null },
      parts: {},
      nodes: [],
    } as Partial<Snapshot> as Snapshot)
  }

  get snapshot(): Snapshot {
    return this.#snapshot
  }

  get tickMs(): number {
    return this.options.tickMs
  }

  /** the longest a tick can take: every part and the probe are cut off at the part timeout */
  get partTimeoutMs(): number {
    return this.options.partTimeoutMs ?? DEFAULT_PART_TIMEOUT_MS
  }

  addPart<K extends keyof SnapshotParts>(part: CollectorPart<K>): void {
    const runner = createPartRunner(part, { log: this.options.log, timeoutMs: this.partTimeoutMs })
    this.#runners.push(runner)
    this.#snapshot = Object.freeze({ ...this.#snapshot, [part.key]: part.initial, parts: { ...this.#snapshot.parts, [part.key]: runner.status } })
  }

  onSnapshot(listener: SnapshotListener): void {
    this.#listeners.push(listener)
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    void this.#loop()
  }

  /**
   * Stops the loop and waits for the tick in flight, at most `maxWaitMs`. Resolves true when no
   * tick was left running. A tick on a Redis that has stopped answering can take the whole part
   * timeout and then its listeners' writes: a shutdown cannot wait for that. An abandoned tick ends
   * on its own once the connections close under it, and tells no listener about its snapshot.
   */
  async stop(maxWaitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    this.#stopped = true
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const running = this.#running
    if (!running) return true
    if (!Number.isFinite(maxWaitMs)) {
      await running
      return true
    }
    let timer: NodeJS.Timeout | undefined
    const gaveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), maxWaitMs)
    })
    try {
      return await Promise.race([
        running.then(
          () => true,
          () => true,
        ),
        gaveUp,
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Runs one tick now (or joins the one in flight). Tests drive the collector through this. */
  refresh(): Promise<Snapshot> {
    this.#running ??= this.#tick().finally(() => {
      this.#running = null
    })
    return this.#running
  }

  async #loop(): Promise<void> {
    await this.refresh()
    if (this.#stopped) return
    this.#timer = setTimeout(() => void this.#loop(), this.options.tickMs)
  }

  async #tick(): Promise<Snapshot> {
    const { clock, log } = this.options
    const previous = this.#snapshot
    const now = clock()
    const started = performance.now()
    const [probed, ...outcomes] = await Promise.all([this.#probe(), ...this.#runners.map((runner) => runner.run(now, previous))])
    const reachable = probed !== null
    const values: Record<string, unknown> = {}
    const parts: Record<string, PartStatus> = {}
    this.#runners.forEach((runner, i) => {
      const outcome = outcomes[i]!
      // while Redis does not answer, a part's failure is the outage's, already said by the banner
      if (outcome.ok) values[runner.key] = outcome.value
      parts[runner.key] = outcome.ok || reachable ? runner.settle(outcome, now) : runner.status
    })
    const redis: RedisStatus = probed !== null ? { up: true, downSince: null, ...(probed.length > 0 ? { shards: probed } : {}) } : { up: false, downSince: previous.redis.downSince ?? now }
    if (reachable && previous.redis.downSince !== null) log.info('redis reachable again')
    logShardChanges(log, previous.redis.shards ?? [], probed ?? [])
    if (!reachable && previous.redis.downSince === null) log.warn('redis unreachable; serving the last data read')
    const readMs = performance.now() - started
    const next: Snapshot = { ...previous, ...values, version: previous.version + 1, generatedAt: now, readMs, redis, parts }
    this.#snapshot = Object.freeze(next)
    // after a shutdown gave up on this tick, the listeners' Redis connections are closing
    if (this.#closed) return next
    for (const listener of this.#listeners) {
      try {
        await listener(next, previous)
      } catch (error) {
        log.error({ err: error }, 'snapshot listener failed')
      }
    }
    return next
  }

  /** the degraded shards (none on one Redis) when Redis answered within the part timeout, else null */
  async #probe(): Promise<readonly DegradedShard[] | null> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.partTimeoutMs)
    })
    try {
      return await Promise.race([
        this.options.probe().then(
          (answer) => degradedShardsOf(answer),
          () => null,
        ),
        timeout,
      ])
    } finally {
      clearTimeout(timer)
    }
  }
}

function degradedShardsOf(answer: unknown): readonly DegradedShard[] {
  const degraded = (answer as { degraded?: unknown } | null)?.degraded
  return Array.isArray(degraded) ? (degraded as DegradedShard[]) : []
}

/** one line when a shard starts or stops being degraded, not one per tick */
function logShardChanges(log: FastifyBaseLogger, before: readonly DegradedShard[], after: readonly DegradedShard[]): void {
  const describe = (shard: DegradedShard) => `${shard.address} ${shard.state} (${shard.reason})`
  const was = new Set(before.map(describe))
  for (const shard of after) if (!was.has(describe(shard))) log.warn({ shard: shard.address, slots: shard.slots, state: shard.state, reason: shard.reason }, 'redis cluster shard degraded')
  for (const shard of before) if (!after.some((now) => now.address === shard.address)) log.info({ shard: shard.address }, 'redis cluster shard serving again')
}
