/**
 * What a host passes to `startPulse`, and the contract of an extension that runs with every beat
 * (queue monitor, slow recorder, command executor). Types only: the agent in agent.ts applies them.
 */
import type { Heartbeat } from './protocol/index.js'
import type { AgentRedis } from './client.js'
import type { SlotPipelines } from './slot-pipelines.js'
import type { ArchiveOptions } from './archive/options.js'

export type { ArchiveOptions } from './archive/options.js'

export interface PulseOptions {
  /** service name, `^[A-Za-z0-9._-]{1,64}$` */
  service: string
  /** transport Redis URL (where the console reads); default REDIS_URL or redis://127.0.0.1:6379 */
  url?: string
  /** or an ioredis instance (a `Redis` or a `Cluster`) you own; the agent never closes it */
  redis?: AgentRedis
  /**
   * `url` (and `app`, when a URL) is one seed node of a Redis Cluster: the agent opens an ioredis
   * `Cluster` with its own fail-fast options on every node; default false
   */
  cluster?: boolean
  /** the application's own Redis (queues live there); defaults to the transport connection */
  app?: string | AgentRedis
  nodeId?: string
  intervalMs?: number
  appVersion?: string
  framework?: string
  prefix?: string
  /**
   * shared secret for signed commands; default QUASAR_TOKEN; never logged. Shorter than 16
   * characters it is not used: commands stay off and onError is told why
   */
  token?: string
  /**
   * execute the console's signed commands (retry, delete) on monitored queues; default true. Off,
   * the agent never reads its command stream
   */
  commands?: boolean
  /** commands executed per second at most, so a "retry all" reaches the workers as a trickle; default 10 */
  commandsPerSecond?: number
  /**
   * record every finished attempt of the monitored BullMQ and Horizon queues in the service's
   * archive stream (PROTOCOL.md, "Finished jobs"); on by default, `false` turns it off.
   * `{ redactKeys }` replaces the keys whose values are redacted in job data (default
   * DEFAULT_REDACT_KEYS)
   */
  archive?: boolean | ArchiveOptions
  onError?: (error: unknown) => void
  /** @internal the clock beats are stamped and aged by (epoch ms); tests inject a fake one */
  now?: () => number
}

/**
 * Something that runs with every beat: adds heartbeat fields and/or writes to the beat's
 * pipelines (`pipelines.for(key)` is the one a command on `key` goes in, one per hash slot on a
 * Cluster).
 */
export interface AgentExtension {
  beforeBeat?(): Promise<Partial<Heartbeat> | undefined> | Partial<Heartbeat> | undefined
  onBeat?(pipelines: SlotPipelines, now: number): void
  stop?(): Promise<void> | void
}
