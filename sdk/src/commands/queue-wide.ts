/**
 * Queue-wide commands (RETRY_ALL_FAILED, DELETE_ALL_FAILED): the agent acts on every job of the
 * queue's failed set that had failed when the command started, one page at a time, and writes its
 * progress after each page.
 *
 * Invariants: the run ends. It acts only on jobs that failed at or before its start (a job that
 * fails again after its retry is left for the next command), never on more jobs than the set held
 * then, and jobs it could not act on stay in the set, so each page starts after them (the offset
 * is the error count). Between pages it yields for `pauseMs`, so the host's own work, the workers
 * picking up retried jobs and the other Redis clients go on while thousands of jobs are handled.
 */
import type { CommandProgress, QueueCommandType } from '../protocol/index.js'
import type { QueueProbe } from '../queues/probe.js'

export const DEFAULT_QUEUE_WIDE_PAGE = 100
export const DEFAULT_QUEUE_WIDE_PAUSE_MS = 20

export interface QueueWideRun {
  probe: QueueProbe
  type: QueueCommandType
  now: () => number
  pageSize: number
  pauseMs: number
  /** after each page; must not throw (a lost progress write only delays what the console shows) */
  progress(progress: CommandProgress): Promise<void>
  /** true once the agent is stopping: the run ends after the page in hand */
  stopped(): boolean
}

export type QueueWideOutcome = { status: 'ok' | 'failed' | 'rejected'; reason?: string; progress?: CommandProgress }

export async function runQueueWide(run: QueueWideRun): Promise<QueueWideOutcome> {
  const { probe, type } = run
  const act = type === 'RETRY_ALL_FAILED' ? probe.retryJob : probe.deleteJob
  const verb = type === 'RETRY_ALL_FAILED' ? 'retried' : 'deleted'
  if (!act || !probe.failedPage) return { status: 'rejected', reason: `queue ${probe.name} (${probe.driver}) cannot list its failed jobs for ${type}` }
  const failedBefore = run.now()
  const progress: CommandProgress = { done: 0, total: 0, errors: 0 }
  let firstError: string | undefined
  for (let first = true; ; first = false) {
    const page = await probe.failedPage(failedBefore, progress.errors, run.pageSize)
    if (first) progress.total = page.total
    const room = progress.total - progress.done - progress.errors
    for (const id of page.ids.slice(0, Math.max(0, room))) {
      try {
        await act.call(probe, id)
        progress.done++
      } catch (error) {
        progress.errors++
        firstError ??= oneLine(error)
      }
    }
    const finished = page.ids.length === 0 || progress.done + progress.errors >= progress.total
    if (finished) break
    await run.progress({ ...progress })
    if (run.stopped()) return { status: 'failed', reason: `the agent stopped after ${progress.done} of ${progress.total} jobs were ${verb}`, progress }
    await new Promise((resolve) => setTimeout(resolve, run.pauseMs).unref())
  }
  if (progress.errors === 0) return { status: 'ok', progress }
  return { status: 'failed', reason: `${progress.errors} of ${progress.total} jobs could not be ${verb}; the first: ${firstError ?? 'no reason given'}`, progress }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return (text.split('\n')[0] ?? '').trim().slice(0, 200) || 'failed without a message'
}
