/**
 * The last samples of one series, held for sparklines: up to RECENT_SAMPLES rows of
 * `[t, value…]` in one Float64Array, oldest first, NaN where a value is missing.
 *
 * Numbers in a typed array rather than point objects because every series of the fleet keeps
 * them: 10,000 nodes × 30 samples as `{ t, values: [...] }` held 45 MB of heap, in Float64Arrays
 * 14 MB. A ring is replaced, never changed in place, when a sample arrives, so whatever was drawn
 * from one ring object stays true for it (the sparklines cache relies on that).
 */
import { RECENT_SAMPLES } from './metrics.js'

export interface RecentPoint {
  /** raw bucket start, epoch ms */
  readonly t: number
  readonly values: readonly (number | null)[]
}

export class RecentRing {
  /** how many samples it holds */
  readonly length: number

  private constructor(
    /** values per sample */
    readonly width: number,
    private readonly rows: Float64Array,
  ) {
    this.length = rows.length / (width + 1)
  }

  static empty(width: number): RecentRing {
    return new RecentRing(width, new Float64Array(0))
  }

  /** bucket start of the newest sample, -Infinity when empty */
  get lastTime(): number {
    return this.length === 0 ? Number.NEGATIVE_INFINITY : this.rows[(this.length - 1) * (this.width + 1)]!
  }

  /** one value of every sample, oldest first: what a sparkline draws, without making points */
  column(index: number): (number | null)[] {
    const stride = this.width + 1
    const values: (number | null)[] = []
    for (let row = 0; row < this.length; row++) values.push(fromCell(this.rows[row * stride + 1 + index]!))
    return values
  }

  /** the samples as objects, oldest first: for the few callers that want them, made on demand */
  points(): RecentPoint[] {
    const stride = this.width + 1
    const points: RecentPoint[] = []
    for (let row = 0; row < this.length; row++) {
      const values: (number | null)[] = []
      for (let i = 1; i <= this.width; i++) values.push(fromCell(this.rows[row * stride + i]!))
      points.push({ t: this.rows[row * stride]!, values })
    }
    return points
  }

  /**
   * This ring with `points` added, still oldest first and at most RECENT_SAMPLES long. A sample
   * already held for the same bucket wins over an added one: it is what this console saw.
   */
  with(points: readonly RecentPoint[]): RecentRing {
    const only = points.length === 1 ? points[0]! : null
    // the common case, once per beat: one sample newer than all the others
    if (only && only.t > this.lastTime) return this.appended(only)
    const byTime = new Map<number, RecentPoint>()
    for (const point of [...points, ...this.points()]) byTime.set(point.t, point)
    const sorted = [...byTime.values()].sort((a, b) => a.t - b.t).slice(-RECENT_SAMPLES)
    const stride = this.width + 1
    const rows = new Float64Array(sorted.length * stride)
    sorted.forEach((point, row) => this.writeRow(rows, row * stride, point))
    return new RecentRing(this.width, rows)
  }

  private appended(point: RecentPoint): RecentRing {
    const stride = this.width + 1
    const kept = Math.min(this.length, RECENT_SAMPLES - 1)
    const rows = new Float64Array((kept + 1) * stride)
    rows.set(this.rows.subarray((this.length - kept) * stride))
    this.writeRow(rows, kept * stride, point)
    return new RecentRing(this.width, rows)
  }

  private writeRow(rows: Float64Array, at: number, point: RecentPoint): void {
    rows[at] = point.t
    for (let i = 0; i < this.width; i++) rows[at + 1 + i] = toCell(point.values[i])
  }
}

function toCell(value: number | null | undefined): number {
  return typeof value === 'number' ? value : Number.NaN
}

function fromCell(cell: number): number | null {
  return Number.isNaN(cell) ? null : cell
}
