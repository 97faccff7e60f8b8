/** The in-memory recent samples of a series: oldest first, at most 30, never changed in place. */
import t from 'tap'
import fc from 'fast-check'
import { RecentRing, type RecentPoint } from '../../server/history/recent-ring.js'
import { RECENT_SAMPLES } from '../../server/history/metrics.js'

const WIDTH = 3
const point = (t: number, values: (number | null)[]): RecentPoint => ({ t, values })

/** What the ring must behave like: a list of points merged by time, the held one winning. */
function reference(held: readonly RecentPoint[], added: readonly RecentPoint[]): RecentPoint[] {
  const byTime = new Map<number, RecentPoint>()
  for (const each of [...added, ...held]) byTime.set(each.t, each)
  return [...byTime.values()].sort((a, b) => a.t - b.t).slice(-RECENT_SAMPLES)
}

t.test('appended samples stay oldest first and the oldest fall off past 30', async (t) => {
  let ring = RecentRing.empty(WIDTH)
  for (let i = 0; i < 45; i++) ring = ring.with([point(i * 10_000, [i, i / 2, null])])
  t.equal(ring.length, RECENT_SAMPLES)
  t.same(
    ring.points().map((p) => p.t),
    Array.from({ length: 30 }, (_, i) => (i + 15) * 10_000),
  )
  t.same(ring.points()[0]!.values, [15, 7.5, null], 'values and missing values come back as given')
  t.equal(ring.lastTime, 440_000)
  t.equal(RecentRing.empty(WIDTH).lastTime, Number.NEGATIVE_INFINITY)
})

t.test('a ring is replaced, never changed: what was drawn from it stays true', async (t) => {
  const first = RecentRing.empty(WIDTH).with([point(10_000, [1, 2, 3])])
  const before = first.points()
  const second = first.with([point(20_000, [4, 5, 6])])
  const third = second.with([point(5_000, [0, 0, 0]), point(10_000, [9, 9, 9])])
  t.not(second, first)
  t.same(first.points(), before, 'the first ring still holds what it held')
  t.equal(second.length, 2)
  t.same(
    third.points().map((p) => p.values[0]),
    [0, 1, 4],
    'an older sample slots in; a held bucket keeps its own values',
  )
})

t.test('any mix of appends and read-back batches, in any order, matches merging by time', async (t) => {
  const bucket = fc.integer({ min: 0, max: 60 }).map((n) => n * 10_000)
  const value = fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null })
  const sample = fc.record({ t: bucket, values: fc.array(value, { minLength: WIDTH, maxLength: WIDTH }) })
  fc.assert(
    fc.property(fc.array(fc.array(sample, { minLength: 1, maxLength: 40 }), { maxLength: 30 }), (batches) => {
      let ring = RecentRing.empty(WIDTH)
      let model: RecentPoint[] = []
      for (const batch of batches) {
        ring = ring.with(batch)
        model = reference(model, batch)
      }
      const columns = Array.from({ length: WIDTH }, (_, i) => model.map((each) => each.values[i]))
      return JSON.stringify(ring.points()) === JSON.stringify(model) && JSON.stringify(columns.map((_, i) => ring.column(i))) === JSON.stringify(columns)
    }),
    { numRuns: 300 },
  )
  t.pass('300 random histories agree with the model')
})
