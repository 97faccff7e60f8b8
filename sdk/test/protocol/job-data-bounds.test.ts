/**
 * boundJobData is applied twice to the same data, by the writer and again by the reader: bounding
 * what is already bounded must change nothing, markers included, for every size around the bounds.
 */
import t from 'tap'
import { boundJobData, DEFAULT_REDACT_KEYS, JOB_DATA_BOUNDS } from '../../src/protocol/index.js'

const sizes = [0, 1, 99, 100, 101, 102, 150, 1000]

t.test('bounding bounded data changes nothing: arrays and objects of every size around the bounds', async (t) => {
  for (const size of sizes) {
    const array = Array.from({ length: size }, (_, n) => ({ n, password: `pw-${n}` }))
    const object = Object.fromEntries(Array.from({ length: size }, (_, n) => [`key${n}`, n % 2 ? [n] : { token: n }]))
    const nested = { outer: { array, object }, list: [array, object] }
    for (const [what, value] of [
      ['array', array],
      ['object', object],
      ['nested', nested],
    ] as const) {
      const once = boundJobData(value)
      t.equal(boundJobData(JSON.parse(once), DEFAULT_REDACT_KEYS), once, `${what} of ${size}`)
    }
  }
})

t.test('the markers say how much was cut, once', async (t) => {
  const once = JSON.parse(boundJobData(Array.from({ length: JOB_DATA_BOUNDS.items + 50 }, (_, n) => n)))
  t.equal(once.at(-1), '[50 more items]')
  const keys = JSON.parse(boundJobData(Object.fromEntries(Array.from({ length: JOB_DATA_BOUNDS.keys + 7 }, (_, n) => [`k${n}`, n]))))
  t.equal(keys._more, '7 more keys')
  t.equal(JSON.parse(boundJobData(keys))._more, '7 more keys', 'kept when bounded again')
})
