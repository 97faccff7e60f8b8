/**
 * An attempt that ends between the recorder's read of BullMQ's events stream and its read of the
 * job hash: the hash then counts one attempt more than the batch has ends for. Driven step by
 * step with a real BullMQ queue and a worker fetching jobs by hand, the end planted exactly in
 * that gap; every attempt must keep its own number, start and end.
 */
import t, { type Test } from 'tap'
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { createBullmqSource } from '../../src/archive/bullmq-source.js'
import type { JobRecord } from '../../src/protocol/index.js'
import { connectionOf } from '../queues/fixtures.js'
import { attemptTimes, context, handWorker, startAttempt, TOKEN } from './hand-worker.js'

const { server, redis } = await useRedis(t)
const connection = connectionOf(server.url)

/** A client whose reads after its first pipeline wait for `between` (run once): the gap. */
async function clientWithGap(t: Test): Promise<{ client: Redis; gapAfterFirstRead: (between: () => Promise<void>) => void }> {
  const client = redis.duplicate()
  t.teardown(() => client.quit())
  let between: (() => Promise<void>) | null = null
  let gap: Promise<void> | null = null
  let execs = 0
  const pipeline = client.pipeline.bind(client)
  client.pipeline = (...args: Parameters<Redis['pipeline']>) => {
    const commands = pipeline(...args)
    const exec = commands.exec.bind(commands)
    commands.exec = (async () => {
      if (++execs > 1 && between) {
        gap ??= between()
        await gap
      }
      return exec()
    }) as typeof commands.exec
    return commands
  }
  return {
    client,
    gapAfterFirstRead(run) {
      execs = 0
      gap = null
      between = run
    },
  }
}

const summary = (records: JobRecord[]) => records.map((record) => ({ attempt: record.attempt, state: record.state, startedAt: record.startedAt, finishedAt: record.finishedAt }))

t.test('a retried attempt that ends in the gap is written with the next batch, each attempt with its own times', async (t) => {
  const queue = new Queue('gap-retry', { connection })
  t.teardown(() => queue.close())
  const worker = handWorker(t, connection, 'gap-retry')
  const { id } = await queue.add('charge', { n: 1 }, { attempts: 3 })
  await (await startAttempt(worker)).moveToFailed(new Error('boom 1'), TOKEN)
  const second = await startAttempt(worker)

  const { client, gapAfterFirstRead } = await clientWithGap(t)
  const source = createBullmqSource(client, 'gap-retry', 'bull', 'gap-retry')
  gapAfterFirstRead(() => second.moveToFailed(new Error('boom 2'), TOKEN).then(() => {}))
  const first = await source.read(null, context)
  await (await startAttempt(worker)).moveToCompleted({ ok: true }, TOKEN, false)
  const rest = await source.read(first.cursor, context)

  const times = await attemptTimes(redis, 'gap-retry', id!)
  t.equal(times.ended.length, 3, 'three attempt ends in the stream')
  t.same(first.records, [], 'the job ended again in the gap: its batch waits')
  t.same(
    summary(rest.records),
    [1, 2, 3].map((attempt) => ({ attempt, state: attempt === 3 ? 'completed' : 'failed', startedAt: times.started[attempt - 1], finishedAt: attempt === 3 ? rest.records[2]?.finishedAt : times.ended[attempt - 1] })),
    'each attempt once, with its own start and end',
  )
  t.same(
    rest.records.map((record) => record.failedReason),
    ['boom 1', 'boom 2', undefined],
    'each failure with its own reason',
  )
  t.ok(rest.records[2]!.finishedAt >= times.started[2]!, 'the last attempt ends when its hash says, after it started')
})

t.test('a job first seen mid-way whose last attempt completes in the gap: numbered from its hash, no end taken by another attempt', async (t) => {
  const queue = new Queue('gap-late', { connection })
  t.teardown(() => queue.close())
  const worker = handWorker(t, connection, 'gap-late')
  const { id } = await queue.add('mail', { n: 2 }, { attempts: 4, backoff: { type: 'fixed', delay: 1 } })
  await (await startAttempt(worker)).moveToFailed(new Error('boom 1'), TOKEN)
  // the reader starts after the job's first attempt: it never sees the job added
  const cursor = ((await redis.xrevrange('bull:gap-late:events', '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0]
  await (await startAttempt(worker)).moveToFailed(new Error('boom 2'), TOKEN)
  const last = await startAttempt(worker)

  const { client, gapAfterFirstRead } = await clientWithGap(t)
  const source = createBullmqSource(client, 'gap-late', 'bull', 'gap-late')
  gapAfterFirstRead(() => last.moveToCompleted({ sent: true }, TOKEN, false).then(() => {}))
  const first = await source.read(cursor!, context)
  const rest = await source.read(first.cursor, context)

  const times = await attemptTimes(redis, 'gap-late', id!)
  t.same(summary(first.records), [], 'the job ended again in the gap: its batch waits')
  t.same(
    rest.records.map((record) => [record.attempt, record.state, record.startedAt, record.failedReason ?? record.result]),
    [
      [2, 'failed', times.started[1], 'boom 2'],
      [3, 'completed', times.started[2], JSON.stringify({ sent: true })],
    ],
    'attempt 2 from the batch and attempt 3 from the next, each with its own start',
  )
  t.equal(rest.records[0]?.finishedAt, times.ended[1], 'attempt 2 ends at its own end')
})
