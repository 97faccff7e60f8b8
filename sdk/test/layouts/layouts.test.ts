/**
 * The shared counting rules on their own, for the cases real queues rarely produce: BullMQ 4's
 * `0:` markers, a job gone between two reads, a delay kept in the job hash, and each branch of
 * BullMQ's rate-limit answer.
 */
import t from 'tap'
import { bullmqRateLimitTtl, bullmqState, bullmqWaitingSince, oldestWaitingMs, UNREADABLE, type BullmqReplies } from '../../src/layouts/index.js'

const idle: BullmqReplies = {
  wait: 0,
  paused: 0,
  active: 0,
  prioritized: 0,
  delayed: 0,
  failed: 0,
  completed: 0,
  waitingChildren: 0,
  meta: ['bullmq:6', '10000', null, null],
  limiterValue: null,
  limiterTtl: -2,
  waitTail: null,
  pausedTail: null,
  prioritizedHead: [],
  completedTotal: null,
  failedTotal: null,
}

t.test('counts: markers are not jobs; paused holds what waiting would; one job counted once', async (t) => {
  const running = bullmqState({ ...idle, wait: 3, waitTail: '0:123', prioritized: 2, prioritizedHead: ['9'], paused: 1, pausedTail: '7', waitingChildren: 4 })
  t.match(running.metrics, { waiting: 2 + 2 + 1, paused: 0, isPaused: false, waitingChildren: 4 })
  t.same(running.nextInLine, ['7', '9'], 'the marker is not a job in line')
  const paused = bullmqState({ ...idle, wait: 3, waitTail: '5', prioritized: 2, meta: ['bullmq:6', '10000', '1', null] })
  t.match(paused.metrics, { waiting: 0, paused: 5, isPaused: true })
  t.same(bullmqState({ ...idle, meta: ['bullmq:6', '10000', '', null] }).metrics.isPaused, true, 'any paused field, as BullMQ checks HEXISTS')
  t.same(bullmqState(idle).nextInLine, [], 'nothing held, nothing to date')
})

t.test('processed: one counter alone counts; an unreadable one leaves the figure out', async (t) => {
  t.equal(bullmqState({ ...idle, completedTotal: '10' }).metrics.processed, 10)
  t.equal(bullmqState({ ...idle, completedTotal: '10', failedTotal: '2' }).metrics.processed, 12)
  t.notOk('processed' in bullmqState({ ...idle, completedTotal: '10', failedTotal: UNREADABLE }).metrics)
  t.notOk('processed' in bullmqState({ ...idle, completedTotal: 'many' }).metrics)
  t.notOk('processed' in bullmqState(idle).metrics)
})

t.test('the oldest waiting age: timestamp plus delay, unknown jobs skipped', async (t) => {
  t.equal(bullmqWaitingSince(['1000', '0']), 1000)
  t.equal(bullmqWaitingSince(['1000', '500']), 1500, 'a delayed job starts waiting when its delay ends')
  t.equal(bullmqWaitingSince([null, null]), undefined, 'the job left between the reads')
  t.equal(bullmqWaitingSince(['soon', null]), undefined)
  t.equal(oldestWaitingMs([5_000, undefined, 2_000], 10_000), 8_000)
  t.equal(oldestWaitingMs([undefined], 10_000), undefined)
  t.equal(oldestWaitingMs([20_000], 10_000), 0, 'a clock behind the job reads no negative age')
})

t.test('rate limit: what BullMQ getRateLimitTtl answers, branch by branch', async (t) => {
  t.equal(bullmqRateLimitTtl(null, null, -2), -2, 'no maximum, no limiter key: PTTL as it is')
  t.equal(bullmqRateLimitTtl(null, '3', 1_500), 1_500, 'no maximum: the limiter key lives')
  t.equal(bullmqRateLimitTtl('5', '4', 1_500), 0, 'under the queue-wide maximum')
  t.equal(bullmqRateLimitTtl('5', '5', 1_500), 1_500, 'the maximum reached')
  t.equal(bullmqRateLimitTtl('5', '9', 0), 0, 'reached, but the window is over')
  t.match(bullmqState({ ...idle, meta: ['bullmq:6', '10000', null, '5'], limiterValue: '5', limiterTtl: 900 }).metrics, { rateLimitedMs: 900 })
  t.notOk('rateLimitedMs' in bullmqState({ ...idle, limiterTtl: -2 }).metrics, 'absent when not limited')
})
