/**
 * One queue as the snapshot holds it, whichever way it was found: reported by an agent
 * (`source: 'agent'`) or found in the console's own Redis (`'discovered'`, always read-only).
 * The history recorder and the alert rules read these records through `queueRecordsOf`, by this
 * type (server/queues/history-rows.ts, server/alerts/metrics.ts).
 */
import type { CommandType, FailedJob, QueueDriver, Skip } from '@gravito/quasar/protocol'
import { naturalCompare } from '../web/natural-sort.js'

export type QueueSource = 'agent' | 'discovered'

export interface QueueRecord {
  readonly service: string
  /** the queue system's name, exactly as found or reported (any text: escape it, encode it in URLs) */
  readonly name: string
  readonly driver: QueueDriver
  /**
   * the queue system's key prefix (BullMQ `bull`, `{bull}`; Laravel `laravel_database_`): with the
   * driver and name, which queue this is. Absent when an agent did not report it
   */
  readonly prefix?: string
  readonly source: QueueSource
  /**
   * the commands the console offers and accepts for this queue: what its node declares (see
   * server/queues/capability.ts); empty means read-only, and `readOnlyReason` says why
   */
  readonly commands: readonly CommandType[]
  /** why no command is offered, in plain words (set exactly when `commands` is empty) */
  readonly readOnlyReason?: string
  /** its agent answers LIST_JOBS (declared in the queue's `commands`): its jobs can be listed by state */
  readonly listsJobs?: boolean
  /** null: not measured (the reader reported an `error` instead; a zero would be a lie) */
  readonly waiting: number | null
  /** null: the driver cannot count it, or it was not measured */
  readonly active: number | null
  readonly delayed: number | null
  readonly failed: number | null
  readonly completed?: number
  /** jobs held because the queue is paused */
  readonly paused?: number
  /** the queue is paused (its workers pick nothing) */
  readonly isPaused?: boolean
  /** flow parents waiting for their children */
  readonly waitingChildren?: number
  /** ms until the queue's rate limit lifts, when it is rate-limited */
  readonly rateLimitedMs?: number
  /** jobs finished since the queue's counters began (BullMQ metrics); only grows */
  readonly processed?: number
  /** age of the oldest waiting job when the counts were read (ms) */
  readonly oldestWaitingMs?: number
  /** jobs finished (completed + failed) per second between the last two readings */
  readonly throughput?: number
  /** why the reader could not read this queue (agent text: escape it) */
  readonly error?: string
  /** when the counts were read (epoch ms): the agent's snapshot time, or the console's read */
  readonly timestamp: number
  /** the agent node that reported the queue: where commands for it go */
  readonly nodeId?: string
  /** the newest failed jobs, at most FAILED_JOB_LIMITS.page */
  readonly failedJobs?: readonly FailedJob[]
  /** fields of the agent's entry dropped, clamped or cut, with why (at most MAX_SKIPS; agent text) */
  readonly skipped?: readonly Skip[]
  /** every skip, `skipped` holding the first of them */
  readonly skippedTotal?: number
}

export interface QueuesPart {
  /** sorted by service, then name */
  readonly items: readonly QueueRecord[]
}

/** The snapshot's queue records, none until the queues part has been added. */
export function queueRecordsOf(snapshot: { readonly queues?: QueuesPart }): readonly QueueRecord[] {
  return snapshot.queues?.items ?? []
}

export function isReadOnly(record: Pick<QueueRecord, 'commands'>): boolean {
  return record.commands.length === 0
}

export function queueId(service: string, name: string): string {
  // a service name has no ':' (name rule), so the first ':' ends it whatever the queue name holds
  return `${service}:${name}`
}

/**
 * Whether an agent's queue and a discovered one are the same queue: same driver, name and key
 * prefix. An agent that does not report its prefix is never taken for a discovered queue.
 */
export function sameQueue(agent: Pick<QueueRecord, 'driver' | 'name' | 'prefix'>, found: { driver: string; queue: string; prefix: string }): boolean {
  return agent.prefix !== undefined && agent.driver === found.driver && agent.name === found.queue && agent.prefix === found.prefix
}

export function byServiceThenName(a: QueueRecord, b: QueueRecord): number {
  return naturalCompare(a.service, b.service) || naturalCompare(a.name, b.name)
}
