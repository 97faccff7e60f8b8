/**
 * A job whose worker died mid-attempt: BullMQ's stalled check puts it back in the wait list
 * (`waiting` with prev: active, then `stalled`) without counting an attempt, and the next worker
 * runs the same attempt again. Driven by hand on a real queue, with the job kept and removed as
 * it finishes: the recorder must write two attempts, not three.
 */
import t from 'tap'
import { Queue, type Worker } from 'bullmq'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { createBullmqSource } from '../../src/archive/bullmq-source.js'
import { connectionOf } from '../queues/fixtures.js'
import { attemptTimes, context, handWorker, startAttempt, TOKEN } from './hand-worker.js'

const { server, redis } = await useRedis(t)
const connection = connectionOf(server.url)

/** What BullMQ does to an attempt whose worker is gone: its lock expires, two stalled checks pass. */
async function stall(worker: Worker, queue: string, jobId: string): Promise<void> {
  // the check is what a running worker calls on its own timer; called here so no timing is involved
  const check = () => (worker as unknown as { moveStalledJobsToWait(): Promise<void> }).moveStalledJobsToWait()
  await check() // marks the active jobs as suspects
  // the lock runs out, and so does the key that spaces two checks by the stalled interval
  await redis.del(`bull:${queue}:${jobId}:lock`, `bull:${queue}:stalled-check`)
  await check() // moves the suspects with no lock back to wait
}

for (const removed of [false, true]) {
  t.test(`a job that stalled once, then failed and completed${removed ? ', removed as it finished' : ''}: two attempts`, async (t) => {
    const name = removed ? 'stall-removed' : 'stall-kept'
    const queue = new Queue(name, { connection })
    t.teardown(() => queue.close())
    const worker = handWorker(t, connection, name)
    const { id } = await queue.add('resize', { n: 1 }, { attempts: 2, removeOnComplete: removed, removeOnFail: removed })
    await startAttempt(worker)
    await stall(worker, name, id!)
    const events = (await redis.xrange(`bull:${name}:events`, '-', '+')).map(([, fields]) => fields[1])
    t.ok(events.includes('stalled'), 'BullMQ saw the attempt stall')
    await (await startAttempt(worker)).moveToFailed(new Error('boom 1'), TOKEN)
    await (await startAttempt(worker)).moveToCompleted({ done: true }, TOKEN, false)
    t.equal(await redis.exists(`bull:${name}:${id}`), removed ? 0 : 1, removed ? 'the job hash is gone' : 'the job hash is kept')

    const batch = await createBullmqSource(redis, name, 'bull', name).read(null, context)
    const times = await attemptTimes(redis, name, id!)
    t.same(
      batch.records.map((record) => [record.attempt, record.state, record.failedReason]),
      [
        // a retry's event carries no reason: with the hash gone, none is known
        [1, 'failed', removed ? undefined : 'boom 1'],
        [2, 'completed', undefined],
      ],
      'the stall is no attempt of its own',
    )
    t.equal(batch.records[0]?.startedAt, times.started[1], 'attempt 1 started when it was run again')
    t.equal(batch.records[1]?.startedAt, times.started[2])
  })
}
