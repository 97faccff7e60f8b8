/**
 * Event-loop delay between beats, from Node's built-in histogram (sampled every 20 ms, in
 * nanoseconds). Reset after each reading so every beat reports its own interval.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

export function createEventLoopSampler() {
  let histogram: IntervalHistogram | null = null
  try {
    histogram = monitorEventLoopDelay({ resolution: 20 })
    histogram.enable()
  } catch {
    histogram = null // not every runtime implements it; the field is optional
  }

  return {
    sample(): { lagMs: number; p99Ms: number } | undefined {
      if (!histogram || histogram.count === 0) return undefined
      const toMs = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6) : 0)
      const reading = { lagMs: toMs(histogram.mean), p99Ms: toMs(histogram.percentile(99)) }
      histogram.reset()
      return reading
    },
    stop(): void {
      histogram?.disable()
    },
  }
}
