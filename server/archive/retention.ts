/**
 * Retention: deletes archived jobs the policy no longer keeps, in batches. Each `store.prune` call
 * deletes at most `batch` rows (one short transaction), and the runner yields to waiting requests
 * between calls, so a backlog of a million expired rows is worked off without holding the event
 * loop or the database for long. Runs on its own unref'd timer, one run at a time.
 */
import type { Clock } from '../clock.js'
import type { ArchiveStore, RetentionPolicy } from './store.js'

export interface RetentionOptions {
  /** rows per prune call */
  readonly batch: number
  /** calls per run at most; the rest waits for the next run */
  readonly batchesPerRun: number
  readonly everyMs: number
}

export const DEFAULT_RETENTION_OPTIONS: RetentionOptions = { batch: 1_000, batchesPerRun: 500, everyMs: 60_000 }

export interface RetentionStatus {
  /** epoch ms the last run ended */
  readonly lastRunAt: number | null
  /** rows deleted by the last run */
  readonly lastDeleted: number
  /** rows deleted since the console started */
  readonly deleted: number
  readonly error: string | null
}

export interface RetentionRunResult {
  readonly deleted: number
  /** the run stopped at `batchesPerRun` with rows still due */
  readonly more: boolean
  readonly error: string | null
}

export interface RetentionRunner {
  /** one run: prune calls until none is due or the run's cap; never rejects */
  runOnce(): Promise<RetentionRunResult>
  start(): void
  stop(maxWaitMs?: number): Promise<boolean>
  status(): RetentionStatus
}

export interface RetentionDeps {
  readonly store: () => Promise<ArchiveStore>
  readonly policy: RetentionPolicy
  readonly clock: Clock
  readonly log: { warn(object: object, message: string): void }
  readonly options?: Partial<RetentionOptions>
}

export function createRetentionRunner(deps: RetentionDeps): RetentionRunner {
  const options = { ...DEFAULT_RETENTION_OPTIONS, ...deps.options }
  let state: RetentionStatus = { lastRunAt: null, lastDeleted: 0, deleted: 0, error: null }
  let timer: NodeJS.Timeout | null = null
  let inFlight: Promise<RetentionRunResult> | null = null
  let stopped = true

  async function run(): Promise<RetentionRunResult> {
    let deleted = 0
    try {
      const store = await deps.store()
      // the same `now` for the whole run: a row is due or not, however long the run takes
      const now = deps.clock()
      for (let calls = 0; calls < options.batchesPerRun; calls++) {
        const result = await store.prune(deps.policy, now, options.batch)
        deleted += result.deleted
        if (!result.more) return finish(deleted, false, null)
        await new Promise((resolve) => setImmediate(resolve))
      }
      return finish(deleted, true, null)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      deps.log.warn({ err: error, event: 'archive_retention_failed' }, `archive retention stopped: ${reason}`)
      return finish(deleted, false, reason.length > 200 ? `${reason.slice(0, 200)}…` : reason)
    }
  }

  function finish(deleted: number, more: boolean, error: string | null): RetentionRunResult {
    state = { lastRunAt: deps.clock(), lastDeleted: deleted, deleted: state.deleted + deleted, error }
    return { deleted, more, error }
  }

  async function runOnce(): Promise<RetentionRunResult> {
    if (inFlight) return inFlight
    inFlight = run()
    try {
      return await inFlight
    } finally {
      inFlight = null
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return
    timer = setTimeout(() => {
      timer = null
      void runOnce().then((result) => schedule(result.more ? 0 : options.everyMs))
    }, delayMs)
    timer.unref()
  }

  return {
    runOnce,
    start() {
      if (!stopped) return
      stopped = false
      schedule(0)
    },
    async stop(maxWaitMs = Number.POSITIVE_INFINITY) {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
      if (!inFlight) return true
      let waited: NodeJS.Timeout | undefined
      const gaveUp = new Promise<false>((resolve) => {
        waited = setTimeout(() => resolve(false), maxWaitMs)
        waited.unref()
      })
      const finished = await Promise.race([inFlight.then(() => true as const), gaveUp])
      clearTimeout(waited)
      return finished
    },
    status: () => state,
  }
}
