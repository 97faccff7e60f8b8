/**
 * Finished-job records: what a writer builds reads back the same, whatever an agent writes is
 * read without throwing and within the limits, and job data is bounded and redacted at any depth,
 * by the SDK and again by the reader.
 */
import t from 'tap'
import fc from 'fast-check'
import { boundJobData, DEFAULT_REDACT_KEYS, JOB_DATA_BOUNDS, JOB_RECORD_LIMITS, jobRecordFields, readJobRecord, REDACTED, type JobRecord } from '../../src/protocol/index.js'

const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/)
const time = fc.integer({ min: 0, max: 4_102_444_800_000 })
const json = fc.jsonValue({ maxDepth: 4 }).map((value) => boundJobData(value))

const record: fc.Arbitrary<JobRecord> = fc.record(
  {
    queue: fc.string({ minLength: 1, maxLength: 40 }),
    jobId: fc.string({ minLength: 1, maxLength: 40 }),
    name: fc.string({ minLength: 1, maxLength: 40 }),
    state: fc.constantFrom('completed' as const, 'failed' as const),
    attempt: fc.integer({ min: 1, max: 50 }),
    driver: fc.constantFrom('bullmq' as const, 'laravel' as const),
    addedAt: time,
    startedAt: time,
    finishedAt: time,
    durationMs: fc.integer({ min: 0, max: 1e9 }),
    waitMs: fc.integer({ min: 0, max: 1e9 }),
    failedReason: fc.string({ minLength: 1, maxLength: 200 }),
    stack: fc.string({ minLength: 1, maxLength: 400 }),
    data: json,
    opts: json,
    result: json,
    appVersion: fc.string({ minLength: 1, maxLength: 20 }),
    nodeId: name,
  },
  { requiredKeys: ['queue', 'jobId', 'state', 'attempt', 'finishedAt', 'nodeId'] },
)

t.test('a record read back is the record written, whichever optional fields it has', async (t) => {
  fc.assert(
    fc.property(record, (written) => {
      const read = readJobRecord('1-0', jobRecordFields(written))
      if (!read.ok) throw new Error(read.error)
      const { id, notes, ...value } = read.value
      t.equal(id, '1-0')
      t.same(notes, [])
      // an empty optional text is not written at all
      const expected = Object.fromEntries(Object.entries(written).filter(([, v]) => v !== ''))
      t.same(value, expected)
    }),
    { numRuns: 300 },
  )
})

t.test('any entry an agent writes is read without throwing, within the limits', async (t) => {
  const field = fc.oneof(fc.constantFrom('v', 'queue', 'jobId', 'state', 'attempt', 'finishedAt', 'nodeId', 'data', 'opts', 'result', 'stack', 'failedReason', 'name'), fc.string())
  const value = fc.oneof(
    fc.string(),
    fc.constantFrom('1', 'completed', 'failed', '3', '-1', 'NaN', '{"a":', '[[[[', '1e400'),
    fc.jsonValue().map((v) => JSON.stringify(v)),
  )
  fc.assert(
    fc.property(fc.array(fc.tuple(field, value), { maxLength: 20 }), (pairs) => {
      const read = readJobRecord('5-0', pairs.flat())
      if (!read.ok) return
      for (const [key, max] of [
        ['name', JOB_RECORD_LIMITS.name],
        ['failedReason', JOB_RECORD_LIMITS.reason],
        ['stack', JOB_RECORD_LIMITS.stack],
        ['data', JOB_RECORD_LIMITS.data],
      ] as const) {
        const text = read.value[key]
        if (text !== undefined) t.ok(text.length <= max, `${key} within ${max}`)
      }
      for (const key of ['data', 'opts', 'result'] as const) {
        const text = read.value[key]
        if (text !== undefined) JSON.parse(text)
      }
    }),
    { numRuns: 500 },
  )
})

t.test('an entry without a required field is refused with the reason', async (t) => {
  const good = jobRecordFields({ queue: 'emails', jobId: '42', state: 'failed', attempt: 2, finishedAt: 1_700_000_000_000, nodeId: 'n1' })
  t.equal(readJobRecord('1-0', good).ok, true)
  const cases: [string, string, RegExp][] = [
    ['v', '2', /v is not 1/],
    ['queue', '', /queue/],
    ['jobId', 'x'.repeat(JOB_RECORD_LIMITS.id + 1), /jobId/],
    ['state', 'active', /state/],
    ['attempt', '0', /attempt/],
    ['attempt', '1.5', /attempt/],
    ['finishedAt', '-5', /finishedAt/],
  ]
  for (const [key, value, reason] of cases) {
    const flat = [...good]
    flat[flat.indexOf(key) + 1] = value
    t.match(readJobRecord('1-0', flat), { ok: false, error: reason }, `${key}=${value.slice(0, 20)}`)
  }
  t.match(readJobRecord('1-0', [...good, 'data', 'x'.repeat(JOB_RECORD_LIMITS.entry)]), { ok: false, error: /entry is over/ })
  t.match(readJobRecord('1-0', [...good, 'data', Buffer.from('x')]), { ok: false, error: /not text/ })
})

t.test('job data is redacted at any depth, under any casing, in the SDK and again in the reader', async (t) => {
  const secretKey = fc.constantFrom(...DEFAULT_REDACT_KEYS).chain((key) => fc.constantFrom(key, key.toUpperCase(), `x_${key}_y`))
  const secret = 'SECRET-VALUE-7f3a'
  // a secret at a random path inside random data
  const nested = fc.tuple(fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 6 }), secretKey, fc.jsonValue({ maxDepth: 2 })).map(([path, key, noise]) => {
    let node: Record<string, unknown> = { [key]: secret, noise }
    for (const part of path.reverse()) node = { [part]: node, noise }
    return node
  })
  fc.assert(
    fc.property(nested, (data) => {
      t.notOk(boundJobData(data).includes(secret), 'bounded data holds no secret')
      // an agent that did not redact: the reader does it
      const flat = jobRecordFields({ queue: 'q', jobId: '1', state: 'completed', attempt: 1, finishedAt: 1, nodeId: 'n', data: JSON.stringify(data) })
      const read = readJobRecord('1-0', flat)
      t.ok(read.ok && !read.value.data?.includes(secret), 'read data holds no secret')
    }),
    { numRuns: 200 },
  )
  t.equal(boundJobData({ password: { nested: 1 } }), JSON.stringify({ password: REDACTED }))
  t.equal(boundJobData({ name: 'x', card: 1 }, ['card']), JSON.stringify({ name: 'x', card: REDACTED }), 'the keys are configurable')
})

t.test('hostile job data is bounded: huge, deep, wide, binary, cyclic, throwing', async (t) => {
  let deep: unknown = 'bottom'
  for (let i = 0; i < 10_000; i++) deep = { d: deep }
  const bounded = JSON.parse(boundJobData(deep)) as unknown
  let depth = 0
  for (let node = bounded; typeof node === 'object' && node !== null; node = (node as { d: unknown }).d) depth++
  t.equal(depth, JOB_DATA_BOUNDS.depth, `10,000 levels cut to ${JOB_DATA_BOUNDS.depth}`)

  t.same(JSON.parse(boundJobData('x'.repeat(10_000_000))), 'x'.repeat(JOB_DATA_BOUNDS.text - 1) + '…', 'a 10 MB string is cut')
  t.same(JSON.parse(boundJobData({ file: Buffer.alloc(5_000_000) })), { file: '[binary 5000000 bytes]' })
  const wide = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i]))
  const keys = Object.keys(JSON.parse(boundJobData(wide)) as object)
  t.equal(keys.length, JOB_DATA_BOUNDS.keys + 1, 'wide objects keep the first keys and say how many more')
  t.ok(keys.includes('_more'))
  const long = JSON.parse(boundJobData(Array.from({ length: 5_000 }, (_, i) => i))) as unknown[]
  t.equal(long.length, JOB_DATA_BOUNDS.items + 1, 'long arrays too')
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  t.same(JSON.parse(boundJobData(cyclic)), { a: 1, self: '[cycle]' })
  const hostile = {
    ok: 1,
    get bad() {
      throw new Error('getter')
    },
  }
  t.doesNotThrow(() => boundJobData(hostile))
  t.same(JSON.parse(boundJobData({ n: NaN, i: Infinity, b: 10n, f: () => 1 })), { n: null, i: null, b: '10' })
  // everything inside the bounds can still add up past the limit: then only the size is kept
  const big = Array.from({ length: 100 }, () => Array.from({ length: 100 }, () => 'y'.repeat(500)))
  t.same(Object.keys(JSON.parse(boundJobData(big)) as object), ['_truncated', 'bytes'])
  t.ok(boundJobData(big).length <= JOB_RECORD_LIMITS.data)
})
