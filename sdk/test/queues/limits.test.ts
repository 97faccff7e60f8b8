/**
 * The snapshot budget: however many failed jobs with however large payloads, the written snapshot
 * stays under the size the console reads, keeps every queue's counts and keeps the newest jobs.
 */
import t from 'tap'
import { FAILED_JOB_LIMITS, MAX_VALUE_BYTES, readQueueSnapshot, type FailedJob, type QueueSnapshot } from '../../src/protocol/index.js'
import { clip, errorText, fitSnapshot } from '../../src/queues/limits.js'

/** Measured here, not with the code under test: UTF-8 bytes of the JSON, as Redis stores it. */
const utf8Bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8')

function bigJob(id: string, char = 'x'): FailedJob {
  return {
    id,
    name: 'job',
    failedReason: char.repeat(FAILED_JOB_LIMITS.reason),
    stacktrace: Array.from({ length: 10 }, () => char.repeat(FAILED_JOB_LIMITS.stack)),
    attemptsMade: 3,
    timestamp: 1,
    data: char.repeat(FAILED_JOB_LIMITS.data),
  }
}

function snapshotWith(queues: number, jobsEach: number, char?: string): QueueSnapshot {
  return {
    timestamp: 1,
    service: 'svc',
    nodeId: 'n1',
    queues: Array.from({ length: queues }, (_, q) => ({
      name: `q${q}`,
      driver: 'bullmq' as const,
      metrics: { waiting: q, failed: jobsEach },
      failedJobs: Array.from({ length: jobsEach }, (_, j) => bigJob(`q${q}-${j}`, char)),
    })),
  }
}

t.test('a snapshot that fits is left as it is', async (t) => {
  const small = snapshotWith(2, 1)
  small.queues.forEach((queue) => (queue.failedJobs = [{ id: '1', name: 'a' }]))
  const before = JSON.stringify(small)
  t.equal(JSON.stringify(fitSnapshot(small)), before)
})

t.test('many large failed jobs: trimmed under the limit, counts kept, newest jobs kept, still valid', async (t) => {
  for (const char of ['x', 'é', '😀']) {
    const fitted = fitSnapshot(snapshotWith(5, FAILED_JOB_LIMITS.page, char))
    t.ok(utf8Bytes(fitted) <= MAX_VALUE_BYTES, `${char}: ${utf8Bytes(fitted)} bytes fits in ${MAX_VALUE_BYTES}`)
    t.same(
      fitted.queues.map((queue) => queue.metrics.waiting),
      [0, 1, 2, 3, 4],
      'every queue and its counts kept',
    )
    for (const queue of fitted.queues) {
      t.ok(queue.failedJobs!.length > 0, 'some detail survives')
      t.equal(queue.failedJobs![0]!.id, `${queue.name}-0`, 'the newest job is the last to go')
      t.equal(queue.failedJobs![0]!.stacktrace!.length, 1, 'stacks shortened to the latest')
    }
    const read = readQueueSnapshot(JSON.parse(JSON.stringify(fitted)))
    t.ok(read.ok && read.skippedTotal === 0, 'the console reads every entry')
  }
})

t.test('3-byte characters: under the limit counted in UTF-16 units, over it in bytes, trimmed to fit in bytes', async (t) => {
  const snapshot = snapshotWith(2, 0)
  // '€' is one UTF-16 unit and three UTF-8 bytes
  snapshot.queues[0]!.failedJobs = Array.from({ length: 10 }, (_, j) => ({ id: `j${j}`, data: '€'.repeat(FAILED_JOB_LIMITS.data), failedReason: '€'.repeat(FAILED_JOB_LIMITS.reason) }))
  const units = JSON.stringify(snapshot).length
  t.ok(units < MAX_VALUE_BYTES && utf8Bytes(snapshot) > MAX_VALUE_BYTES, `${units} UTF-16 units, ${utf8Bytes(snapshot)} bytes`)
  const fitted = fitSnapshot(snapshot)
  t.ok(utf8Bytes(fitted) <= MAX_VALUE_BYTES, `${utf8Bytes(fitted)} bytes fits in ${MAX_VALUE_BYTES}`)
  t.same(
    fitted.queues.map((queue) => queue.name),
    ['q0', 'q1'],
    'every queue kept',
  )
  t.equal(fitted.queues[0]!.failedJobs![0]!.id, 'j0', 'the newest job is kept')
  const read = readQueueSnapshot(JSON.parse(JSON.stringify(fitted)))
  t.ok(read.ok && read.skippedTotal === 0, 'the console reads every entry')
})

t.test('clip marks the cut and never splits a surrogate pair', async (t) => {
  t.equal(clip('abcdef', 10), 'abcdef')
  t.equal(clip('abcdef', 4), 'abc…')
  const emoji = '😀😀😀'
  const cut = clip(emoji, 4)
  t.ok(cut.length <= 4)
  t.equal(cut, '😀…')
  t.doesNotThrow(() => encodeURIComponent(cut), 'no lone surrogate')
})

t.test('errorText: one line, bounded, never empty', async (t) => {
  t.equal(errorText(new Error('a\n  b\tc')), 'a b c')
  t.equal(errorText(new Error('')), 'unknown error')
  t.equal(errorText('x'.repeat(2000)).length, 240)
  t.equal(errorText(42), '42')
})
