/**
 * BullMQ's own events stream (`{prefix}:{queue}:events`), read as the attempts it tells of. The
 * SDK does not own the workers, so this stream is the only place a finished attempt shows:
 * - `completed` and `failed` (moveToFinished) end a job's last attempt;
 * - a failed attempt that will be retried shows as `waiting` with `prev: active` (retryJob) or as
 *   `delayed` (moveToDelayed, with the time it becomes due in `delay`).
 * `waiting`/`delayed` are also written when a job is added, promoted or rate limited, so they count
 * as an attempt's end only within an attempt, after the job's `active` (or when this reader has
 * not seen the job before: the job hash's attempt counter then decides, see bullmq-source.ts).
 * Every stream id starts with the Redis server's clock (ms), which times the events.
 */

export interface BullmqEvent {
  id: string
  /** epoch ms, from the stream id */
  at: number
  event: string
  jobId: string
  prev?: string
  /** `delayed`: when the job becomes due (epoch ms) */
  delay?: number
  /** `failed`: the reason, when short enough to keep */
  failedReason?: string
  /** `completed`: the return value as JSON text, when short enough to keep */
  returnvalue?: string
}

/** Event fields longer than this are not kept (the job hash is read bounded instead). */
export const EVENT_FIELD_LIMIT = 16 * 1024

/** Parses an XRANGE reply; entries without a job id (drained, paused…) keep only their id. */
export function parseEvents(reply: unknown): { events: BullmqEvent[]; lastId: string | null } {
  if (!Array.isArray(reply)) return { events: [], lastId: null }
  const events: BullmqEvent[] = []
  let lastId: string | null = null
  for (const entry of reply) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) continue
    const id = entry[0]
    lastId = id
    const fields = entry[1] as unknown[]
    const event: Partial<BullmqEvent> = { id, at: Number(id.split('-')[0]) }
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]
      const value = fields[i + 1]
      if (typeof value !== 'string') continue
      if (name === 'event') event.event = value
      else if (name === 'jobId') event.jobId = value
      else if (name === 'prev') event.prev = value
      else if (name === 'delay') {
        const due = Number(value)
        if (Number.isFinite(due) && due >= 0) event.delay = due
      } else if (name === 'failedReason' && value.length <= EVENT_FIELD_LIMIT) event.failedReason = value
      else if (name === 'returnvalue' && value.length <= EVENT_FIELD_LIMIT) event.returnvalue = value
    }
    if (event.event && event.jobId && event.jobId.length <= 256 && Number.isFinite(event.at)) events.push(event as BullmqEvent)
  }
  return { events, lastId }
}

export type FinishKind = 'completed' | 'failed' | 'retried'

/** One attempt's end as the stream shows it. */
export interface Finish {
  kind: FinishKind
  at: number
  /** the `active` event that started this attempt, when it was seen */
  startedAt?: number
  /** a retry with backoff: when the next attempt becomes due */
  dueAt?: number
  failedReason?: string
  returnvalue?: string
}

/** What this reader remembers of a job between batches (bounded, see JobMemory). */
export interface JobState {
  /** the last attempt written as a record */
  recorded: number
  /** attempt ends seen in the stream so far */
  finishes: number
  /** its `added` event was seen: every attempt of it is in the stream from here */
  added?: boolean
  /** the start of the attempt under way, from its `active` event */
  activeAt?: number
  /** the job's previous event */
  last?: string
  /** ends not written yet: the job had another end right after the batch (bullmq-source.ts) */
  held?: Finish[]
}

export interface JobEvents {
  jobId: string
  finishes: Finish[]
}

/** Where a job's state between events lives: the reader's JobMemory, or a scratch copy of it. */
export interface JobStates {
  get(jobId: string): JobState | undefined
  set(jobId: string, state: JobState): void
}

/**
 * Walks a batch in order and collects each job's attempt ends. `memory` carries the start of a
 * job's attempt under way over batch boundaries; it is updated here.
 */
export function attemptEnds(events: readonly BullmqEvent[], memory: JobStates): Map<string, JobEvents> {
  const jobs = new Map<string, JobEvents>()
  const of = (jobId: string) => {
    let job = jobs.get(jobId)
    if (!job) jobs.set(jobId, (job = { jobId, finishes: [] }))
    return job
  }
  for (const event of events) {
    const known = memory.get(event.jobId)
    const state: JobState = known ?? { recorded: 0, finishes: 0 }
    // within an attempt: its `active` was seen and no end since (a `progress` may come between)
    const inAttempt = known === undefined || state.activeAt !== undefined
    let finish: Finish | null = null
    switch (event.event) {
      case 'added':
        if (!known) state.added = true
        break
      case 'active':
        state.activeAt = event.at
        break
      case 'stalled': {
        // the attempt was given up without an end: the job waits again with `atm` unchanged.
        // BullMQ writes the `waiting` (prev: active) first, taken above for an end: no longer one
        const ends = jobs.get(event.jobId)?.finishes
        if (state.last === 'waiting' && ends?.at(-1)?.kind === 'retried') ends.pop()
        delete state.activeAt
        break
      }
      case 'completed':
      case 'failed':
        finish = { kind: event.event, at: event.at }
        if (event.failedReason !== undefined) finish.failedReason = event.failedReason
        if (event.returnvalue !== undefined) finish.returnvalue = event.returnvalue
        break
      case 'waiting':
        if (event.prev === 'active' && inAttempt) finish = { kind: 'retried', at: event.at }
        break
      case 'delayed':
        if (inAttempt) finish = { kind: 'retried', at: event.at, ...(event.delay !== undefined ? { dueAt: event.delay } : {}) }
        break
    }
    if (finish) {
      if (state.activeAt !== undefined) finish.startedAt = state.activeAt
      delete state.activeAt
      of(event.jobId).finishes.push(finish)
    }
    state.last = event.event
    memory.set(event.jobId, state)
  }
  return jobs
}

/**
 * Reads through to `memory` and keeps every change to itself: a look at events past the batch
 * (bullmq-source.ts) that must leave the reader's memory as the batch left it.
 */
export class ScratchStates implements JobStates {
  readonly #changed = new Map<string, JobState>()

  constructor(readonly memory: JobStates) {}

  get(jobId: string): JobState | undefined {
    const changed = this.#changed.get(jobId)
    if (changed) return changed
    const known = this.memory.get(jobId)
    return known ? { ...known } : undefined
  }

  set(jobId: string, state: JobState): void {
    this.#changed.set(jobId, state)
  }
}

/**
 * Per-job state, oldest forgotten first past `max` jobs: a forgotten job costs at most a duplicate
 * record (the archiver keeps one per attempt), never a lost one.
 */
export class JobMemory implements JobStates {
  readonly #jobs = new Map<string, JobState>()
  readonly #max: number

  constructor(max = 20_000) {
    this.#max = max
  }

  get(jobId: string): JobState | undefined {
    return this.#jobs.get(jobId)
  }

  set(jobId: string, state: JobState): void {
    this.#jobs.delete(jobId)
    this.#jobs.set(jobId, state)
    while (this.#jobs.size > this.#max) {
      const oldest = this.#jobs.keys().next().value
      if (oldest === undefined) break
      this.#jobs.delete(oldest)
    }
  }

  get size(): number {
    return this.#jobs.size
  }
}
