/**
 * The one loop that reads Redis. Each tick produces a new immutable Snapshot; listeners (history,
 * alerts) are told after it is published. Ticks never overlap: the next is scheduled only when the
 * previous one has finished.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.js'
import type { NodeCollector } from './node-collector.js'
import { EMPTY_SNAPSHOT, type Snapshot } from './snapshot.js'

export interface CollectorOptions {
  nodes: NodeCollector
  clock: Clock
  log: FastifyBaseLogger
  tickMs: number
}

export type SnapshotListener = (snapshot: Snapshot, previous: Snapshot) => void | Promise<void>

const PRUNE_EVERY_TICKS = 30

export class Collector {
  #snapshot: Snapshot = EMPTY_SNAPSHOT
  #timer: NodeJS.Timeout | null = null
  #running: Promise<Snapshot> | null = null
  #stopped = true
  #ticks = 0
  readonly #listeners: SnapshotListener[] = []

  constructor(private readonly options: CollectorOptions) {}

  get snapshot(): Snapshot {
    return this.#snapshot
  }

  onSnapshot(listener: SnapshotListener): void {
    this.#listeners.push(listener)
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    void this.#loop()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    await this.#running
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
    const { clock, nodes, log } = this.options
    const previous = this.#snapshot
    const now = clock()
    let next: Snapshot
    try {
      const records = await nodes.collect(now)
      if (++this.#ticks % PRUNE_EVERY_TICKS === 0) await nodes.pruneIndex(now)
      next = { version: previous.version + 1, generatedAt: now, redis: { up: true, downSince: null, lastError: null }, nodes: records }
      if (!previous.redis.up && previous.redis.downSince !== null) log.info('redis reachable again')
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      const downSince = previous.redis.downSince ?? now
      if (previous.redis.up || previous.version === 0) log.warn({ err: message }, 'redis unreachable; serving the last snapshot')
      next = { ...previous, version: previous.version + 1, generatedAt: now, redis: { up: false, downSince, lastError: message } }
    }
    this.#snapshot = Object.freeze(next)
    for (const listener of this.#listeners) {
      try {
        await listener(next, previous)
      } catch (error) {
        log.error({ err: error }, 'snapshot listener failed')
      }
    }
    return next
  }
}
