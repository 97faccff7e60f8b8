/**
 * The one loop that reads Redis. Each tick runs every part (nodes, queues, …) and publishes a new
 * immutable Snapshot; listeners (history, alerts) are told after it is published. Ticks never
 * overlap: the next is scheduled only when the previous one has finished. If any part fails the
 * tick counts as "Redis unreachable" and the previous data is kept whole, so a page never mixes
 * two ticks.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.js'
import type { CollectorPart, Snapshot, SnapshotParts } from './snapshot.js'

export interface CollectorOptions {
  clock: Clock
  log: FastifyBaseLogger
  tickMs: number
}

export type SnapshotListener = (snapshot: Snapshot, previous: Snapshot) => void | Promise<void>

export class Collector {
  #snapshot: Snapshot
  #timer: NodeJS.Timeout | null = null
  #running: Promise<Snapshot> | null = null
  #stopped = true
  readonly #parts: CollectorPart[] = []
  readonly #listeners: SnapshotListener[] = []

  constructor(private readonly options: CollectorOptions) {
    // the other parts' initial values arrive with addPart, before the first tick can run
    this.#snapshot = Object.freeze({
      version: 0,
      generatedAt: 0,
      redis: { up: false, downSince: null, lastError: 'not read yet' },
      nodes: [],
    } as Partial<Snapshot> as Snapshot)
  }

  get snapshot(): Snapshot {
    return this.#snapshot
  }

  addPart<K extends keyof SnapshotParts>(part: CollectorPart<K>): void {
    this.#parts.push(part as unknown as CollectorPart)
    this.#snapshot = Object.freeze({ ...this.#snapshot, [part.key]: part.initial })
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
    const { clock, log } = this.options
    const previous = this.#snapshot
    const now = clock()
    let next: Snapshot
    try {
      const values = await Promise.all(this.#parts.map((part) => part.collect(now, previous)))
      const parts = Object.fromEntries(this.#parts.map((part, i) => [part.key, values[i]]))
      next = { ...previous, ...parts, version: previous.version + 1, generatedAt: now, redis: { up: true, downSince: null, lastError: null } }
      if (previous.redis.downSince !== null) log.info('redis reachable again')
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (previous.redis.downSince === null) log.warn({ err: message }, 'redis unreachable; serving the last snapshot')
      next = { ...previous, version: previous.version + 1, generatedAt: now, redis: { up: false, downSince: previous.redis.downSince ?? now, lastError: message } }
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
