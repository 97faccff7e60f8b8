/**
 * Discovered BullMQ queues read right, whatever their number and shape: a fleet of real queues in
 * every state (./bullmq-fleet.ts), created in three seeded orders, read through the app's own
 * collector and API, every queue compared with what BullMQ's `getJobCounts` says about it. Then
 * keys of the wrong type and keys the console may not read: skipped and reported for that key
 * only, the other queues still exact.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { Queue, Worker } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import { FAILED_JOB_LIMITS } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { createBullmqReader } from '../../server/queues/bullmq-reader.js'
import { buildFleet, JOB_KINDS, planFleet, type Fleet } from './bullmq-fleet.js'

const { server: redisServer, redis } = await useRedis(t)
const connection = { url: redisServer.url }

/** a field over this many bytes is not read; PROTOCOL.md words what stands for it */
const READ_CAP = 65_536

/** what the console shows of a failure reason: PROTOCOL.md's cut, or the too-large marker */
function shownReason(reason: string): string {
  const bytes = Buffer.byteLength(reason)
  if (bytes > READ_CAP) return `[${bytes} bytes, too large to show]`
  return reason.length <= FAILED_JOB_LIMITS.reason ? reason : `${reason.slice(0, FAILED_JOB_LIMITS.reason - 1)}…`
}

async function expectFleet(t: Test, app: FastifyInstance, fleet: Fleet, now: number): Promise<void> {
  const listed: any[] = (await app.inject('/api/pulse/queues')).json().queues
  t.same(listed.map((q) => `${q.service}/${q.name}`).sort(), fleet.queues.map((q) => `bull/${q.plan.name}`).sort(), 'every queue discovered, nothing else')
  for (const item of fleet.queues) {
    const { name, amounts } = item.plan
    const { active = -1, completed = -1, delayed = -1, failed = -1, prioritized = -1, waiting = -1, 'waiting-children': waitingChildren = -1 } = await item.queue.getJobCounts()
    const paused = await item.queue.isPaused()
    // the fleet is what was planned: otherwise the comparison below would prove less than it says
    t.same(
      { active, completed, delayed, failed, prioritized, waiting, waitingChildren },
      {
        active: amounts.active,
        completed: amounts.completed,
        delayed: amounts.delayed,
        failed: amounts.failed,
        prioritized: amounts.prioritized,
        waiting: amounts.waiting + item.children,
        waitingChildren: amounts.parents,
      },
      `${name}: BullMQ holds the planned jobs`,
    )
    t.equal(paused, item.plan.paused)

    // the counting rule (PROTOCOL.md): ready jobs are `waiting`, or `paused` while the queue is;
    // a flow parent waiting for its children is in no count (the protocol has no field for it)
    const ready = waiting + prioritized
    const shown = listed.find((q) => q.name === name)
    t.same(
      { waiting: shown.waiting, paused: shown.paused, active: shown.active, delayed: shown.delayed, failed: shown.failed, completed: shown.completed },
      { waiting: paused ? 0 : ready, paused: paused ? ready : 0, active, delayed, failed, completed },
      `${name}: counts as BullMQ's own`,
    )
    if (item.readyTimestamps.length > 0) t.equal(shown.oldestWaitingMs, now - Math.min(...item.readyTimestamps), `${name}: its own oldest waiting job`)
    else t.notOk('oldestWaitingMs' in shown, `${name}: nothing waits, no age`)

    const { jobs, total } = (await app.inject(`/api/pulse/queues/bull/${name}/jobs?state=failed`)).json()
    t.equal(total, failed)
    t.same(jobs.map((job: any) => `${job.id}|${job.name}`).sort(), item.failed.map((job) => `${job.id}|${job.name}`).sort(), `${name}: its own failed jobs`)
    for (const made of item.failed) {
      const job = jobs.find((each: any) => each.id === made.id)
      t.equal(job?.failedReason, shownReason(made.reason), `${name}#${made.id}: its own reason`)
      t.equal(job?.attemptsMade, 1)
      // the stack holds the reason too: over the read cap with it, or read whole
      if (Buffer.byteLength(made.reason) > READ_CAP) t.match(job?.stacktrace, [/^\[\d+ bytes, too large to show\]$/], `${name}#${made.id}: its stack measured, not read`)
      else t.ok(job?.stacktrace?.at(-1)?.startsWith(`Error: ${made.reason}\n    at `), `${name}#${made.id}: its own stack`)
    }
  }
}

for (const seed of [5, 23, 37]) {
  t.test(`seed ${seed}: every one of 13 queues shows its own counts, oldest job and failed jobs`, async (t) => {
    await redis.flushall()
    const plans = planFleet(seed, 13)
    // every kind of job in several queues, and missing from others: the shapes vary per queue
    for (const kind of JOB_KINDS) {
      t.ok(plans.some((plan) => plan.amounts[kind] >= 2) && plans.some((plan) => plan.amounts[kind] === 0), `seed ${seed}: queues with 0 and with several ${kind}`)
    }
    t.ok(plans.some((plan) => plan.paused) && plans.some((plan) => !plan.paused), 'paused and running queues')
    const fleet = await buildFleet(seed, plans, connection, Date.now())
    t.teardown(() => fleet.close())
    const reasons = fleet.queues.flatMap((q) => q.failed.map((job) => job.reason))
    t.ok(
      reasons.some((r) => r.length < FAILED_JOB_LIMITS.reason) && reasons.some((r) => r.length > FAILED_JOB_LIMITS.reason && Buffer.byteLength(r) <= READ_CAP) && reasons.some((r) => Buffer.byteLength(r) > READ_CAP),
      'short reasons, reasons cut, reasons too large to read',
    )
    const clock = fakeClock(fleet.lastTimestamp + 3_600_000)
    const app = await buildTestApp({ redisUrl: redisServer.url, clock })
    t.teardown(() => app.close())

    await app.collector.refresh()
    await expectFleet(t, app, fleet, clock())
    // read again: the failed jobs come from the reader's cache now, so the round trips have
    // another shape than the first time
    clock.advance(10_000)
    await app.collector.refresh()
    await expectFleet(t, app, fleet, clock())
  })
}

/** three queues with a failed job each, and one waiting */
async function threeQueues(t: Test, names: string[]) {
  const queues = names.map((name) => new Queue(name, { connection }))
  t.teardown(() => Promise.all(queues.map((queue) => queue.close())))
  for (const queue of queues) {
    await queue.add(`doomed-${queue.name}`, {})
    const worker = new Worker(
      queue.name,
      async () => {
        throw new Error(`${queue.name} broke`)
      },
      { connection },
    )
    await new Promise((resolve) => worker.once('failed', resolve))
    await worker.close()
    await queue.add(`next-${queue.name}`, {})
  }
  return queues
}

t.test('a queue whose failed set is a string is skipped and reported; the others keep exact counts', async (t) => {
  await redis.flushall()
  await threeQueues(t, ['alpha', 'beta', 'gamma'])
  await redis.del('bull:beta:failed')
  await redis.set('bull:beta:failed', 'not a sorted set')
  // a failed job whose hash was replaced by a string: that job only is left out
  const [gammaFailed] = await redis.zrange('bull:gamma:failed', 0, -1)
  await redis.del(`bull:gamma:${gammaFailed}`)
  await redis.set(`bull:gamma:${gammaFailed}`, 'not a hash')
  await (await threeQueues(t, ['delta']))[0]!.add('another', {})

  const logLines: string[] = []
  const clock = fakeClock(Date.now() + 60_000)
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const queues: any[] = (await app.inject('/api/pulse/queues')).json().queues
  t.same(
    queues.map((q) => q.name),
    ['alpha', 'delta', 'gamma'],
    'beta left out, the others shown',
  )
  t.match(
    queues.find((q) => q.name === 'alpha'),
    { waiting: 1, failed: 1 },
  )
  t.match(
    queues.find((q) => q.name === 'delta'),
    { waiting: 2, failed: 1 },
  )
  t.match(
    queues.find((q) => q.name === 'gamma'),
    { waiting: 1, failed: 1 },
  )
  const jobs = async (name: string) => (await app.inject(`/api/pulse/queues/bull/${name}/jobs?state=failed`)).json().jobs
  t.match(await jobs('alpha'), [{ name: 'doomed-alpha', failedReason: 'alpha broke' }])
  t.match(await jobs('delta'), [{ name: 'doomed-delta', failedReason: 'delta broke' }])
  t.same(await jobs('gamma'), [], 'the unreadable job left out, its queue kept')
  const warnings = logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'skipped bad agent data')
  t.same(
    warnings.map((w) => [JSON.parse(w.key), w.reason.split(' ')[0]]).sort(),
    [
      ['bull:beta:failed', 'WRONGTYPE'],
      [`bull:gamma:${gammaFailed}`, 'WRONGTYPE'],
    ],
    'each bad key reported under its own name',
  )
  t.equal((await app.inject('/readyz')).statusCode, 200, 'not taken for Redis being unreachable')
})

t.test('a queue the console may not read (NOPERM) is skipped and reported; the others are read', async (t) => {
  await redis.flushall()
  await threeQueues(t, ['open', 'secret', 'public'])
  // a reader allowed every read command on two queues' keys only, and the read-only script that bounds
  // its reads of text (EVAL_RO: the console's documented user has it with +@scripting)
  await redis.acl('SETUSER', 'partial', 'on', '>partial-pw', 'resetkeys', '~bull:open:*', '~bull:public:*', '+@read', '+@connection', '+eval_ro')
  const limited = new Redis({ port: redisServer.port, host: '127.0.0.1', username: 'partial', password: 'partial-pw' })
  t.teardown(() => limited.quit())
  const reported: [string, string][] = []
  const read = createBullmqReader(limited, { report: (key, reason) => reported.push([key, reason]) })
  const refs = ['open', 'secret', 'public'].map((queue) => ({ driver: 'bullmq' as const, prefix: 'bull', queue }))
  const readings = await read(refs, Date.now())
  t.same(
    [...readings.keys()].map((ref) => ref.queue),
    ['open', 'public'],
  )
  for (const [ref, reading] of readings) {
    t.match(reading, { waiting: 1, failed: 1, failedJobs: [{ name: `doomed-${ref.queue}`, failedReason: `${ref.queue} broke` }] })
  }
  t.ok(reported.length > 0 && reported.every(([key, reason]) => key.startsWith('bull:secret:') && /^NOPERM/.test(reason)), 'only the secret queue reported, as NOPERM')
})
