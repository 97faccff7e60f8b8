/**
 * QuasarAgent: the in-app agent. Each interval it builds a heartbeat and writes it, with the index
 * entry, in one pipeline (one per hash slot on a Redis Cluster, all sent together). It never hurts its host: no throw after start, no unhandled rejection,
 * unref'd timers, no overlapping beats, and with Redis away a beat is dropped, never queued; a beat
 * that could only be written late is dropped too (beat-guard.ts).
 * Features (queue probes, slow logs, commands) plug in as extensions run with each beat.
 */
import { Command, type Pipeline } from 'ioredis'
import { createKeys, HEARTBEAT_TTL_SECONDS, isValidName, PROTOCOL_VERSION, QUASAR_TOKEN_MIN_LENGTH, nodeIdFrom, type Heartbeat, type ProtocolKeys } from './protocol/index.js'
import { closeConnection, openConnection, type Connection } from './transport.js'
import type { AgentRedis } from './client.js'
import { SlotPipelines } from './slot-pipelines.js'
import { createBeatGuard, type BeatCounts, type BeatGuard } from './beat-guard.js'
import { createCpuSampler } from './metrics/cpu.js'
import { readMemory } from './metrics/memory.js'
import { createEventLoopSampler } from './metrics/event-loop.js'
import { readDisk } from './metrics/disk.js'
import { detectRuntime, safeHostname } from './metrics/runtime.js'
import { createSlowRecorder, type SlowRecorder } from './slow/recorder.js'
import { createCommandExecutor } from './commands/executor.js'
import { QueueMonitor } from './queues/monitor.js'
import type { MonitoredDriver, MonitorQueueOptions } from './queues/options.js'
import type { QueueProbe } from './queues/probe.js'
import { archiveSourceFor, resolveArchive, type ResolvedArchive } from './archive/options.js'
import { JobRecorder } from './archive/recorder.js'
import type { AgentExtension, PulseOptions } from './agent-options.js'

export type { AgentExtension, PulseOptions } from './agent-options.js'

const DEFAULT_INTERVAL_MS = 10_000

export class QuasarAgent {
  readonly service: string
  readonly nodeId: string
  readonly keys: ProtocolKeys
  readonly intervalMs: number
  readonly #transport: Connection
  readonly #app: Connection
  readonly #options: PulseOptions
  readonly #token: string | undefined
  readonly #cpu = createCpuSampler()
  readonly #eventLoop = createEventLoopSampler()
  readonly #runtime = detectRuntime()
  readonly #extensions: AgentExtension[] = []
  readonly #now: () => number
  readonly #guard: BeatGuard
  #timer: NodeJS.Timeout | null = null
  #beating: Promise<boolean> | null = null
  #stopped = false
  #slow: SlowRecorder | null = null
  #queues: QueueMonitor | null = null
  readonly #archive: ResolvedArchive | null
  #recorder: JobRecorder | null = null
  #started = false

  constructor(options: PulseOptions) {
    if (!isValidName(options.service)) {
      throw new TypeError(`service must match ^[A-Za-z0-9._-]{1,64}$, got ${JSON.stringify(options.service)}`)
    }
    if (options.nodeId !== undefined && !isValidName(options.nodeId)) {
      throw new TypeError(`nodeId must match ^[A-Za-z0-9._-]{1,64}$, got ${JSON.stringify(options.nodeId)}`)
    }
    this.#options = options
    this.service = options.service
    this.nodeId = options.nodeId ?? nodeIdFrom(safeHostname(), process.pid)
    this.intervalMs = Math.max(100, options.intervalMs ?? DEFAULT_INTERVAL_MS)
    this.keys = createKeys(options.prefix)
    this.#archive = resolveArchive(options.archive)
    const token = options.token ?? (process.env.QUASAR_TOKEN || undefined)
    // the console refuses such a token, so no command signed with it can come: say so at once
    // rather than reject every command later
    this.#token = token !== undefined && token.length >= QUASAR_TOKEN_MIN_LENGTH ? token : undefined
    if (token !== undefined && this.#token === undefined) {
      this.report(new TypeError(`QUASAR_TOKEN is shorter than ${QUASAR_TOKEN_MIN_LENGTH} characters; commands are disabled`))
    }
    const fallbackUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
    const cluster = { cluster: options.cluster === true }
    this.#transport = openConnection(options.redis ?? options.url, `quasar:${this.service}`, fallbackUrl, cluster)
    this.#app = options.app === undefined ? { ...this.#transport, owned: false } : openConnection(options.app, `quasar-app:${this.service}`, fallbackUrl, cluster)
    this.#now = options.now ?? Date.now
    this.#guard = createBeatGuard({ redis: this.#transport.redis, owned: this.#transport.owned, now: this.#now, report: (error) => this.report(error) })
  }

  /** Beats written and dropped (stale, unanswered, not ready, withdrawn) since the agent was made. */
  get beatCounts(): Readonly<BeatCounts> {
    return this.#guard.counts
  }

  /** The transport connection (where heartbeats go). */
  get transport(): AgentRedis {
    return this.#transport.redis
  }

  /** The application's Redis (where its queues live). */
  get appRedis(): AgentRedis {
    return this.#app.redis
  }

  /** For extensions that sign or verify; not exposed in any output. */
  get hasToken(): boolean {
    return this.#token !== undefined
  }

  /** Whether this agent executes the console's commands: on (the default) and a token to verify them. */
  get executesCommands(): boolean {
    return this.#options.commands !== false && this.#token !== undefined
  }

  /** @internal used by the command extension to derive its signing key */
  tokenForSigning(): string | undefined {
    return this.#token
  }

  start(): this {
    this.#started = true
    this.#recorder?.start()
    if (this.#options.commands !== false) {
      this.use(createCommandExecutor(this, this.#options.commandsPerSecond ? { perSecond: this.#options.commandsPerSecond } : {}))
    }
    // a beat as soon as the connection is (again) ready, so a node shows up at once and beats
    // resume right after an outage instead of up to one interval later
    this.#transport.redis.on('ready', this.#onReady)
    this.#schedule(0)
    return this
  }

  readonly #onReady = () => {
    if (!this.#stopped) void this.beat()
  }

  /**
   * Records a slow request or job. Buffered (bounded, oldest dropped) and written to the service's
   * slow stream about once a second; invalid input is reported to onError and dropped. Returns
   * whether the record was accepted. Never throws.
   */
  recordSlow(record: { kind: 'request' | 'job'; name: string; durationMs: number; [field: string]: unknown }): boolean {
    if (this.#stopped) return false
    if (!this.#slow) {
      this.#slow = createSlowRecorder({ redis: this.#transport.redis, streamKey: this.keys.slow(this.service), nodeId: this.nodeId, report: (error) => this.report(error) })
      this.use({ stop: () => this.#slow?.stop() })
    }
    return this.#slow.record(record)
  }

  /** Writes buffered slow records now (they are also written about once a second). */
  async flushSlow(): Promise<void> {
    await this.#slow?.flush()
  }

  /**
   * Watches a queue in the app's Redis (`app` option, else the transport): its counts, oldest
   * waiting age and newest failed jobs go into every beat and the service's queue snapshot.
   * Returns the agent, for chaining. Throws a TypeError for an invalid name, driver or option, or
   * a name already monitored.
   */
  monitorQueue(name: string, driver: MonitoredDriver, options?: MonitorQueueOptions): this {
    const monitor = this.#queues ?? new QueueMonitor(this)
    monitor.add(name, driver, options)
    if (!this.#queues) {
      this.#queues = monitor
      this.use(monitor)
    }
    this.#recordFinishedJobsOf(name, driver, options)
    return this
  }

  /** Reads and records finished jobs now (they are also recorded every few seconds); never rejects. */
  recordFinishedJobs(): Promise<void> {
    return this.#recorder?.pass() ?? Promise.resolve()
  }

  #recordFinishedJobsOf(name: string, driver: MonitoredDriver, options: MonitorQueueOptions | undefined): void {
    if (!this.#archive || this.#stopped) return
    const source = archiveSourceFor(this.#app.redis, name, driver, options)
    if (!source) return
    if (!this.#recorder) {
      const appVersion = this.#options.appVersion ?? process.env.npm_package_version
      this.#recorder = new JobRecorder(this, {
        redactKeys: this.#archive.redactKeys,
        intervalMs: this.#archive.intervalMs ?? Math.min(this.intervalMs, 2000),
        ...(appVersion ? { appVersion: appVersion.slice(0, 128) } : {}),
      })
      this.use(this.#recorder)
    }
    this.#recorder.add(source)
    if (this.#started) this.#recorder.start()
  }

  /** The probe of a monitored queue (its `retryJob`/`deleteJob` serve commands), if any. */
  queueProbe(name: string): QueueProbe | undefined {
    return this.#queues?.get(name)
  }

  use(extension: AgentExtension): void {
    this.#extensions.push(extension)
  }

  /** Reports an error to onError; an onError that throws is ignored, never the host's problem. */
  report(error: unknown): void {
    try {
      this.#options.onError?.(error)
    } catch {
      // swallowed on purpose: monitoring must never break its host
    }
  }

  /** Runs one beat now (or joins the one in flight). Resolves true if the beat was written. */
  beat(): Promise<boolean> {
    this.#beating ??= this.#beatOnce().finally(() => {
      this.#beating = null
    })
    return this.#beating
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#transport.redis.off('ready', this.#onReady)
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#guard.stop()
    await this.#beating?.catch(() => {})
    for (const extension of this.#extensions) {
      try {
        await extension.stop?.()
      } catch (error) {
        this.report(error)
      }
    }
    this.#eventLoop.stop()
    await Promise.all([closeConnection(this.#app), closeConnection(this.#transport)])
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      void this.beat().finally(() => this.#schedule(this.intervalMs))
    }, delayMs)
    this.#timer.unref()
  }

  /** Builds and writes one beat, unless it would be late (see beat-guard.ts). */
  async #beatOnce(): Promise<boolean> {
    try {
      const redis = this.#transport.redis
      if (this.#guard.previousUnanswered()) return this.#guard.skipUnanswered()
      const beat = await this.buildHeartbeat()
      if (redis.status !== 'ready') return this.#guard.notReady(redis.status)
      // the SET is made here, not by pipeline.set, so the guard can tell when Redis answered it
      const nodeKey = this.keys.node(this.service, this.nodeId)
      const write = new Command('set', [nodeKey, JSON.stringify(beat), 'EX', HEARTBEAT_TTL_SECONDS])
      // the node, its index entry and the queue snapshot sit in three slots: on a Cluster, three
      // pipelines, built in full before any is sent, so a beat dropped as stale sends none of them
      const pipelines = new SlotPipelines(redis)
      ;(pipelines.for(nodeKey) as unknown as Pipeline).sendCommand(write)
      const indexKey = this.keys.serviceNodeIndex(this.service)
      pipelines.for(indexKey).zadd(indexKey, beat.timestamp, this.nodeId)
      for (const extension of this.#extensions) extension.onBeat?.(pipelines, beat.timestamp)
      // aged at the last moment: from here to the socket write nothing is awaited
      if (!this.#guard.fresh(beat.timestamp)) return false
      const replies = pipelines.exec()
      this.#guard.sent(write, beat.timestamp)
      // written only if every write of every slot was: one failed shard fails the beat, reported
      const results = await replies
      const failed = results.find(([error]) => error)
      if (failed) throw failed[0]
      this.#guard.written()
      return true
    } catch (error) {
      this.report(error)
      return false
    }
  }

  /**
   * The heartbeat this agent would write now. Its timestamp is taken once the asynchronous parts
   * (extensions, the disk read) are in, with the values sampled right then, so a slow queue probe
   * does not age the beat; the age is checked again just before the write.
   */
  async buildHeartbeat(): Promise<Heartbeat> {
    const extra: Partial<Heartbeat> = {}
    for (const extension of this.#extensions) {
      try {
        Object.assign(extra, await extension.beforeBeat?.())
      } catch (error) {
        this.report(error)
      }
    }
    const disk = await readDisk(process.cwd())
    const eventLoop = this.#eventLoop.sample()
    const appVersion = this.#options.appVersion ?? process.env.npm_package_version
    const beat: Heartbeat = {
      id: this.nodeId,
      service: this.service,
      language: this.#runtime.language,
      version: this.#runtime.version,
      pid: process.pid,
      hostname: safeHostname().slice(0, 256),
      platform: process.platform,
      cpu: this.#cpu(),
      memory: readMemory(),
      runtime: { uptime: process.uptime(), ...(this.#options.framework ? { framework: this.#options.framework } : {}) },
      ...(eventLoop ? { eventLoop } : {}),
      ...(disk ? { disk } : {}),
      ...(appVersion ? { appVersion: appVersion.slice(0, 256) } : {}),
      ...extra,
      protocol: PROTOCOL_VERSION,
      timestamp: this.#now(),
    }
    return beat
  }
}

/** Creates and starts an agent. Throws only for a programming error (an invalid name). */
export function startPulse(options: PulseOptions): QuasarAgent {
  return new QuasarAgent(options).start()
}
