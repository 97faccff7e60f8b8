/**
 * The compact strings history keeps in Redis. A raw sample is one scaled integer per metric,
 * comma-separated, empty when the agent did not send it: `425,123,625,143,150`. A rollup bucket is
 * `o,n,c1,…,ck`: `o` the index (within the bucket) of the last raw sample merged, `n` how many were
 * merged, and per metric a cell `sum:max`, `sum:max:count` when fewer than `n` samples had it, or
 * empty when none did. The merge itself runs in Lua (rollup-script.ts); this module is its mirror.
 */
import { MAX_STORED, METRICS, SCALE, type SeriesKind } from './metrics.js'

export type Values = (number | null)[]

export interface DecodedRollup {
  avg: Values
  max: Values
  samples: number
}

/** Scales, rounds and joins a sample; negative, non-finite or absurd values are left out. */
export function encodeSample(kind: SeriesKind, values: readonly (number | null | undefined)[]): string {
  return METRICS[kind]
    .map((metric, i) => {
      const value = values[i]
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return ''
      const stored = Math.round(value * SCALE[metric])
      return stored <= MAX_STORED ? String(stored) : ''
    })
    .join(',')
}

export function decodeRaw(kind: SeriesKind, text: string): Values | null {
  const cells = text.split(',')
  const metrics = METRICS[kind]
  if (cells.length !== metrics.length) return null
  return metrics.map((metric, i) => unscale(toInt(cells[i]!), SCALE[metric]))
}

export function decodeRollup(kind: SeriesKind, text: string): DecodedRollup | null {
  const cells = text.split(',')
  const metrics = METRICS[kind]
  if (cells.length !== metrics.length + 2) return null
  const samples = toInt(cells[1]!)
  if (samples === null || samples < 1) return null
  const avg: Values = []
  const max: Values = []
  metrics.forEach((metric, i) => {
    const [sum, top, count] = cells[i + 2]!.split(':').map(toInt)
    const n = count === undefined ? samples : count
    const ok = sum !== null && sum !== undefined && top !== null && top !== undefined && n !== null && n > 0
    avg.push(ok ? unscale(sum / n, SCALE[metric]) : null)
    max.push(ok ? unscale(top, SCALE[metric]) : null)
  })
  return { avg, max, samples }
}

function toInt(cell: string): number | null {
  if (!/^\d{1,15}$/.test(cell)) return null
  return Number(cell)
}

function unscale(stored: number | null, scale: number): number | null {
  if (stored === null) return null
  const value = stored / scale
  // back to the precision it was stored with, without the binary noise of the division
  return Number(value.toPrecision(12))
}
