/**
 * What the agent knows about one monitored queue: a probe that reads its counts and failed jobs
 * from the application's Redis, and the two actions a signed command may ask for. Each driver
 * (bullmq, laravel, redis-list) implements this; the agent never knows a driver's keys.
 */
import type { CommandType, QueueDriver, SnapshotQueue } from '../protocol/index.js'

export interface QueueProbe {
  readonly name: string
  readonly driver: QueueDriver
  /** counts, oldest waiting age and a bounded page of failed jobs; may throw (the agent reports it) */
  probe(): Promise<SnapshotQueue>
  /** absent when the driver cannot retry (redis-list); throws with a one-line reason on failure */
  retryJob?(jobId: string): Promise<void>
  /** absent when the driver cannot delete; throws with a one-line reason on failure */
  deleteJob?(jobId: string): Promise<void>
}

/**
 * The command types a probe executes: what the agent declares for its queue, so the console
 * offers exactly what the executor (commands/executor.ts) can run through this probe.
 */
export function probeCommands(probe: QueueProbe): CommandType[] {
  const commands: CommandType[] = []
  if (probe.retryJob) commands.push('RETRY_JOB')
  if (probe.deleteJob) commands.push('DELETE_JOB')
  return commands
}
