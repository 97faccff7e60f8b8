/**
 * Runs one collector part with a deadline and keeps its status. A part that throws, or has not
 * answered by the deadline, fails for this tick only: its last good data stays in the snapshot.
 * A part still working past the deadline is not started again beside itself (that would pile up
 * slow reads on a struggling Redis); the next ticks wait for the same attempt, and take its result
 * when it arrives.
 *
 * Failures are logged with their error and a short id; the status carries the id and a plain
 * reason, never the error's text. A part failing every tick logs once a minute, not every tick.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { LATE_REASON } from './part-status.js'
import type { CollectorPart, PartStatus, Snapshot } from './snapshot.js'

/** `readAt`: when the attempt that read the value started, which a late answer makes older than the tick */
export type Outcome = { ok: true; value: unknown; readAt: number } | { ok: false; reason: string; error: unknown }

export interface PartRunner {
  readonly key: string
  readonly status: PartStatus
  /** one attempt, or the wait for the attempt already under way */
  run(now: number, previous: Snapshot): Promise<Outcome>
  /** records an outcome of the tick at `now` and returns the new status */
  settle(outcome: Outcome, now: number): PartStatus
}

export const NEVER_READ: PartStatus = Object.freeze({ ok: false, failures: 0, readAt: null, reason: null, errorId: null })
const LOG_EVERY_MS = 60_000

export function createPartRunner(part: CollectorPart, options: { log: Pick<FastifyBaseLogger, 'warn' | 'info'>; timeoutMs: number }): PartRunner {
  const key = part.key as string
  let status: PartStatus = NEVER_READ
  /** the attempt under way and when it started */
  let attempt: Promise<Outcome> | null = null
  let lastLoggedAt = Number.NEGATIVE_INFINITY

  async function run(now: number, previous: Snapshot): Promise<Outcome> {
    if (!attempt) {
      const promise = Promise.resolve()
        .then(() => part.collect(now, previous))
        .then(
          (value): Outcome => ({ ok: true, value, readAt: now }),
          (error: unknown): Outcome => ({ ok: false, reason: 'failed', error }),
        )
      attempt = promise
    }
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), options.timeoutMs)
    })
    const outcome = await Promise.race([attempt, late])
    clearTimeout(timer)
    if (outcome === null) return { ok: false, reason: LATE_REASON, error: new Error(`${key} has not answered for ${options.timeoutMs} ms`) }
    attempt = null
    return outcome
  }

  function settle(outcome: Outcome, now: number): PartStatus {
    if (outcome.ok) {
      if (status.failures > 0) options.log.info({ part: key, failures: status.failures }, 'collector part recovered')
      status = { ok: true, failures: 0, readAt: outcome.readAt, reason: null, errorId: null }
      lastLoggedAt = Number.NEGATIVE_INFINITY
      return status
    }
    let errorId = status.errorId
    if (now - lastLoggedAt >= LOG_EVERY_MS || now < lastLoggedAt || errorId === null) {
      errorId = randomBytes(4).toString('hex')
      lastLoggedAt = now
      options.log.warn({ part: key, errorId, failures: status.failures + 1, err: outcome.error }, `collector part ${outcome.reason}; keeping its last data`)
    }
    status = { ok: false, failures: status.failures + 1, readAt: status.readAt, reason: outcome.reason, errorId }
    return status
  }

  return {
    key,
    get status() {
      return status
    },
    run,
    settle,
  }
}
