/**
 * Wraps a job handler (a BullMQ processor or any `(job) => Promise`) to record runs slower than a
 * threshold. The handler's result and errors pass through unchanged; a failed slow run is
 * recorded with its error message.
 */
import type { QuasarAgent } from '../agent.js'
import { clockOf, thresholdFor, type ThresholdOptions } from './thresholds.js'

interface JobLike {
  name?: string
  id?: string | number
  queueName?: string
  attemptsMade?: number
}

export function withSlowJobs<J extends JobLike, R>(agent: QuasarAgent, handler: (job: J, ...rest: never[]) => Promise<R> | R, options: ThresholdOptions & { name?: string } = {}) {
  const now = clockOf(options)
  return async function slowJobHandler(job: J, ...rest: never[]): Promise<R> {
    const started = now()
    let error: unknown
    try {
      return await handler(job, ...rest)
    } catch (caught) {
      error = caught
      throw caught
    } finally {
      const durationMs = now() - started
      const name = options.name ?? job.name ?? 'job'
      if (durationMs >= thresholdFor(options, name)) {
        agent.recordSlow({
          kind: 'job',
          name,
          durationMs,
          ...(job.queueName ? { queue: job.queueName } : {}),
          ...(job.id !== undefined ? { jobId: String(job.id) } : {}),
          // BullMQ's attemptsMade counts the attempts finished before this one (0 on the first run);
          // the protocol's `attempts` includes this one, so the first run reads "attempt 1"
          ...(typeof job.attemptsMade === 'number' ? { attempts: job.attemptsMade + 1 } : {}),
          ...(error !== undefined ? { error: (error instanceof Error ? error.message : String(error)).slice(0, 256) } : {}),
        })
      }
    }
  }
}
