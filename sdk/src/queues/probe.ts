/**
 * What the agent knows about one monitored queue: a probe that reads its counts and failed jobs
 * from the application's Redis, and the two actions a signed command may ask for. Each driver
 * (bullmq, laravel, redis-list) implements this; the agent never knows a driver's keys.
 */
import type { CommandType, JobDetail, ListJobsPage, ListJobState, QueueDriver, ReadCommandType, SnapshotQueue } from '../protocol/index.js'

export interface QueueProbe {
  readonly name: string
  readonly driver: QueueDriver
  /** counts, oldest waiting age and a bounded page of failed jobs; may throw (the agent reports it) */
  probe(): Promise<SnapshotQueue>
  /** absent when the driver cannot retry (redis-list); throws with a one-line reason on failure */
  retryJob?(jobId: string): Promise<void>
  /** absent when the driver cannot delete; throws with a one-line reason on failure */
  deleteJob?(jobId: string): Promise<void>
  /**
   * The queue's failed jobs that failed at or before `failedBefore` (epoch ms), oldest first:
   * `limit` ids from position `offset`, and how many there are. What queue-wide commands page
   * through; absent when the driver cannot list them (the queue then declares none).
   */
  failedPage?(failedBefore: number, offset: number, limit: number): Promise<{ ids: string[]; total: number }>
  /**
   * A page of the queue's jobs in one state, newest first, without payloads: what a LIST_JOBS
   * request asks (commands/list-jobs.ts). Absent when the driver cannot list its jobs.
   */
  listJobs?(state: ListJobState, page: number, pageSize: number): Promise<Omit<ListJobsPage, 'kind'>>
  /** One job in full, bounded and redacted; null when the queue no longer holds it. */
  getJob?(jobId: string): Promise<JobDetail | null>
}

/**
 * The command types a probe executes: what the agent declares for its queue, so the console
 * offers exactly what the executor (commands/executor.ts) can run through this probe.
 */
export function probeCommands(probe: QueueProbe): (CommandType | ReadCommandType)[] {
  const commands: (CommandType | ReadCommandType)[] = []
  if (probe.retryJob) commands.push('RETRY_JOB')
  if (probe.deleteJob) commands.push('DELETE_JOB')
  if (probe.failedPage && probe.retryJob) commands.push('RETRY_ALL_FAILED')
  if (probe.failedPage && probe.deleteJob) commands.push('DELETE_ALL_FAILED')
  if (probe.listJobs) commands.push('LIST_JOBS')
  return commands
}
