/**
 * The agent extension that watches the app's queues. With each beat it probes every queue at once
 * against the app's Redis, each probe bounded by PROBE_TIMEOUT_MS, then puts the counts in the
 * heartbeat's `queues` field and the service's QueueSnapshot (`SET queues:{service} … EX 30`) in
 * the beat's own pipeline. A probe that fails, hangs or returns nonsense becomes an `error` in its
 * queue's entry; the beat goes on.
 *
 * Each snapshot entry declares the commands this node executes for the queue (`commands`): what
 * the probe implements when the agent executes commands at all, else none, so the console offers
 * no button that would only end in a rejection.
 *
 * A probe still running from an earlier beat is not started again (its entry reports it), so a
 * hung app Redis never piles up commands in an app-owned ioredis instance with an offline queue.
 */
import { HEARTBEAT_TTL_SECONDS, snapshotQueueSchema, type Heartbeat, type NodeQueue, type ProtocolKeys, type QueueSnapshot, type SnapshotQueue } from '../protocol/index.js'
import type { AgentExtension } from '../agent.js'
import type { AgentRedis } from '../client.js'
import type { SlotPipelines } from '../slot-pipelines.js'
import { probeCommands, type QueueProbe } from './probe.js'
import { createProbe } from './options.js'
import { errorText, fitSnapshot } from './limits.js'

export const PROBE_TIMEOUT_MS = 2000
/** The heartbeat's `queues` field holds at most 100 entries. */
export const MAX_MONITORED_QUEUES = 100

export interface QueueMonitorHost {
  readonly appRedis: AgentRedis
  /** where the snapshot is written (the console's Redis); the same connection as appRedis when the app has no Redis of its own */
  readonly transport?: AgentRedis
  readonly service: string
  readonly nodeId: string
  readonly keys: ProtocolKeys
  /** reads and verifies signed commands (commands on, a token set): false declares none */
  readonly executesCommands: boolean
  report(error: unknown): void
}

export class QueueMonitor implements AgentExtension {
  readonly #host: QueueMonitorHost
  readonly #timeoutMs: number
  readonly #probes = new Map<string, QueueProbe>()
  readonly #running = new Map<string, Promise<SnapshotQueue>>()
  #snapshot: QueueSnapshot | null = null
  #appSeenReady = false

  constructor(host: QueueMonitorHost, options: { timeoutMs?: number } = {}) {
    this.#host = host
    this.#timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS
  }

  /** Validates and registers a queue; throws TypeError on a programming error. */
  add(name: unknown, driver: unknown, options?: unknown): QueueProbe {
    const probe = createProbe(this.#host.appRedis, name, driver, options)
    if (this.#probes.has(probe.name)) throw new TypeError(`queue ${JSON.stringify(probe.name)} is already monitored`)
    if (this.#probes.size >= MAX_MONITORED_QUEUES) throw new TypeError(`at most ${MAX_MONITORED_QUEUES} queues can be monitored by one agent`)
    this.#probes.set(probe.name, probe)
    return probe
  }

  get(name: string): QueueProbe | undefined {
    return this.#probes.get(name)
  }

  async beforeBeat(): Promise<Partial<Heartbeat> | undefined> {
    if (this.#probes.size === 0) return undefined
    const queues = await this.probeAll()
    const sharedRedis = this.#host.transport !== undefined && this.#host.transport === this.#host.appRedis
    this.#snapshot = fitSnapshot({ timestamp: Date.now(), service: this.#host.service, nodeId: this.#host.nodeId, ...(sharedRedis ? { sharedRedis } : {}), queues })
    return { queues: queues.map(nodeQueue) }
  }

  onBeat(pipelines: SlotPipelines): void {
    const snapshot = this.#snapshot
    this.#snapshot = null
    const key = this.#host.keys.queues(this.#host.service)
    if (snapshot) pipelines.for(key).set(key, JSON.stringify(snapshot), 'EX', HEARTBEAT_TTL_SECONDS)
  }

  /** One entry per queue, in the order they were added; never rejects. */
  async probeAll(): Promise<SnapshotQueue[]> {
    const probes = [...this.#probes.values()]
    const unavailable = await this.#appUnavailable()
    if (unavailable) this.#host.report(new Error(`${unavailable}; ${probes.length} queue(s) not probed`))
    const entries = unavailable ? probes.map((probe) => this.#failed(probe, unavailable, false)) : await Promise.all(probes.map((probe) => this.#probeOne(probe)))
    // declared even when a probe failed: what the node executes does not depend on one reading
    const executes = this.#host.executesCommands
    return entries.map((entry, n) => ({ ...entry, commands: executes ? probeCommands(probes[n]!) : [] }))
  }

  async #probeOne(probe: QueueProbe): Promise<SnapshotQueue> {
    if (this.#running.has(probe.name)) return this.#failed(probe, 'previous probe still running (app Redis slow)')
    const run = Promise.resolve()
      .then(() => probe.probe())
      .finally(() => this.#running.delete(probe.name))
    run.catch(() => {}) // the timeout may win; the late rejection is expected and ignored
    this.#running.set(probe.name, run)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`probe timed out after ${this.#timeoutMs} ms`)), this.#timeoutMs)
      timer.unref()
    })
    try {
      const entry = snapshotQueueSchema.safeParse(await Promise.race([run, timeout]))
      if (!entry.success) return this.#failed(probe, 'probe returned an entry that does not match the protocol')
      return entry.data
    } catch (error) {
      return this.#failed(probe, error)
    } finally {
      clearTimeout(timer)
    }
  }

  #failed(probe: QueueProbe, error: unknown, report = true): SnapshotQueue {
    const message = errorText(error)
    if (report) this.#host.report(new Error(`queue ${probe.name} (${probe.driver}): ${message}`))
    // counts are not measured: the error, not the zero, is what a reader must show
    return { name: probe.name, driver: probe.driver, metrics: { waiting: 0 }, error: message }
  }

  /**
   * Why the app's Redis cannot be probed now, or null. At start-up the connection gets one probe
   * timeout to come up, so a freshly started agent does not report its queues as errors; after it
   * was ready once, an outage fails fast instead of slowing every beat.
   */
  async #appUnavailable(): Promise<string | null> {
    const redis = this.#host.appRedis
    if (redis.status === 'ready') {
      this.#appSeenReady = true
      return null
    }
    if (!this.#appSeenReady && (redis.status === 'connecting' || redis.status === 'connect' || redis.status === 'reconnecting')) {
      await waitForReady(redis, this.#timeoutMs)
      const status: string = redis.status // changed while waiting, which the narrowing above cannot know
      if (status === 'ready') {
        this.#appSeenReady = true
        return null
      }
    }
    return `app Redis not ready (${redis.status})`
  }
}

function nodeQueue(entry: SnapshotQueue): NodeQueue {
  const { name, driver, metrics, error } = entry
  return error === undefined ? { name, driver, metrics } : { name, driver, metrics, error }
}

function waitForReady(redis: AgentRedis, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      redis.off('ready', done)
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    timer.unref()
    redis.once('ready', done)
  })
}
