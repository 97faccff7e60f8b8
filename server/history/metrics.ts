/**
 * What history keeps and for how long. Two kinds of series (a node, a queue), each a fixed list of
 * metrics; three resolutions (raw 10 s samples, 1 min and 10 min rollups), each cut into chunks of
 * at most 120 buckets so every chunk stays a small hash (Redis keeps hashes under 128 fields of
 * short values in its compact listpack encoding: about a third of the memory of a large hash).
 */

export const NODE_METRICS = ['cpuSystem', 'cpuProcess', 'memoryUsedPct', 'rss', 'lagMs'] as const
export const QUEUE_METRICS = ['waiting', 'failed', 'throughput'] as const

export type NodeMetric = (typeof NODE_METRICS)[number]
export type QueueMetric = (typeof QUEUE_METRICS)[number]
export type SeriesKind = 'node' | 'queue'

export const METRICS: { readonly node: readonly NodeMetric[]; readonly queue: readonly QueueMetric[] } = {
  node: NODE_METRICS,
  queue: QUEUE_METRICS,
}

/**
 * Values are stored as integers (value × scale, rounded): the rollup script adds them up in Lua,
 * whose numbers print exactly only as integers, and short integers keep values under 64 bytes.
 * CPU and memory in tenths of a percent, RSS in MiB, lag in hundredths of a millisecond.
 */
export const SCALE: Record<NodeMetric | QueueMetric, number> = {
  cpuSystem: 10,
  cpuProcess: 10,
  memoryUsedPct: 10,
  rss: 1 / 1024 / 1024,
  lagMs: 100,
  waiting: 1,
  failed: 1,
  throughput: 100,
}

/** Largest stored integer: 60 of them summed in a 10 min bucket stay exact and under 1e14. */
export const MAX_STORED = 1e12

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

export interface Resolution {
  readonly name: 'raw' | '1m' | '10m'
  readonly bucketMs: number
  /** buckets older than this (from the newest written) are deleted */
  readonly retentionMs: number
  readonly chunkMs: number
}

const CHUNK_BUCKETS = 120

function resolution(name: Resolution['name'], bucketMs: number, retentionMs: number): Resolution {
  return { name, bucketMs, retentionMs, chunkMs: bucketMs * CHUNK_BUCKETS }
}

export const RAW = resolution('raw', 10 * SECOND, HOUR)
export const ONE_MINUTE = resolution('1m', MINUTE, DAY)
export const TEN_MINUTES = resolution('10m', 10 * MINUTE, 7 * DAY)
export const ROLLUPS = [ONE_MINUTE, TEN_MINUTES] as const

export const RANGES = ['1h', '6h', '24h', '7d'] as const
export type Range = (typeof RANGES)[number]

/** Each chart range reads the finest resolution that still covers it (360 to 1,440 points). */
export const RANGE_PLAN: Record<Range, { resolution: Resolution; spanMs: number; label: string }> = {
  '1h': { resolution: RAW, spanMs: HOUR, label: '1 h' },
  '6h': { resolution: ONE_MINUTE, spanMs: 6 * HOUR, label: '6 h' },
  '24h': { resolution: ONE_MINUTE, spanMs: DAY, label: '24 h' },
  '7d': { resolution: TEN_MINUTES, spanMs: 7 * DAY, label: '7 d' },
}

/** Raw samples kept in memory per series for sparklines (5 minutes at one per 10 s). */
export const RECENT_SAMPLES = 30

export function bucketOf(t: number, bucketMs: number): number {
  return Math.floor(t / bucketMs) * bucketMs
}
