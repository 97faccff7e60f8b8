/** Which durations count as slow: one default, overridable per route or job name. */
export const DEFAULT_SLOW_THRESHOLD_MS = 1_000

export interface ThresholdOptions {
  /** default 1000 ms */
  thresholdMs?: number
  /** per name (a route pattern such as `GET /users/:id`, or a job name), or a function of it */
  thresholds?: Record<string, number> | ((name: string) => number | undefined)
  /** the clock durations are measured with, in ms; default `performance.now` (tests pass a fake one) */
  now?: () => number
}

/** The clock of these options: durations come from differences, so any monotonic ms clock will do. */
export function clockOf(options: ThresholdOptions): () => number {
  return options.now ?? (() => performance.now())
}

export function thresholdFor(options: ThresholdOptions, name: string): number {
  const specific = typeof options.thresholds === 'function' ? options.thresholds(name) : options.thresholds?.[name]
  return specific ?? options.thresholdMs ?? DEFAULT_SLOW_THRESHOLD_MS
}
