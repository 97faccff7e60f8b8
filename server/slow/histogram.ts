/**
 * Durations as a fixed log-bucket histogram, so percentiles over any window come from stored
 * counts instead of the entries themselves. Bucket i holds durations in [2^(i/8), 2^((i+1)/8)) ms
 * (bucket 0 also holds everything under 1 ms); a percentile is read as its bucket's geometric
 * middle, capped at the largest duration seen. Error bound: the answer is within a factor of
 * 2^(1/16) (about 4.4 %) of the true nearest-rank percentile, for durations of 1 ms and more.
 * Buckets end at MAX_INDEX (2^30 ms, about 12 days): anything longer lands in the last one.
 */
export const STEPS_PER_DOUBLING = 8
export const MAX_INDEX = 30 * STEPS_PER_DOUBLING
/** the largest ratio between a reported percentile and the true one (or the other way round) */
export const PERCENTILE_ERROR_RATIO = Math.pow(2, 1 / (2 * STEPS_PER_DOUBLING))

export function histogramIndex(durationMs: number): number {
  if (!(durationMs >= 1)) return 0
  return Math.min(MAX_INDEX, Math.floor(Math.log2(durationMs) * STEPS_PER_DOUBLING))
}

/** the duration a bucket stands for: the geometric middle of its bounds (bucket 0: its upper half) */
export function histogramValue(index: number): number {
  return Math.pow(2, (index + 0.5) / STEPS_PER_DOUBLING)
}

/** Nearest-rank percentile of a histogram (bucket index → count); 0 when it is empty. */
export function histogramPercentile(counts: ReadonlyMap<number, number>, p: number, maxMs: number): number {
  let total = 0
  for (const n of counts.values()) total += n
  if (total === 0) return 0
  const rank = Math.min(total, Math.max(1, Math.ceil((p / 100) * total)))
  // the top rank is the largest duration, which is kept exactly
  if (rank === total) return maxMs
  let seen = 0
  for (const index of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(index)!
    if (seen >= rank) return Math.min(maxMs, histogramValue(index))
  }
  return maxMs
}
