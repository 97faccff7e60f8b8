/**
 * Real queue names and prefixes, end to end: real BullMQ queues named as BullMQ allows (`send
 * email`, `correo-électronique`, `emails@v2`, over 64 characters) under the prefixes `bull`,
 * `{bull}` and `app:bull`, in every state, built in several seeded orders; found by the console,
 * each under its own service, counted as BullMQ's own getters count them, dated as the SDK dates
 * them, and reachable through every queue URL. Then Laravel queues `{high}` and `a:b`.
 */
import t, { type Test } from 'tap'
import { Queue, Worker } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import { createBullmqProbe } from '../../sdk/src/queues/bullmq.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { queueUrl, queueApiUrl } from '../../server/http/urls.js'
import { discoveredService } from '../../server/queues/collector-part.js'
import { buildBullmqFleet, STATES, type QueueSpec } from '../scenarios/bullmq-fleet.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { laravelPayload } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)

const LONG = `nightly-${'reconciliation-'.repeat(6)}job`
const NAMES = ['send email', 'correo-électronique', 'emails@v2', LONG, 'a/b?c#d', '<b>bold</b> & co']
const PREFIXES = ['bull', '{bull}', 'app:bull']

/**
 * Every name under one prefix or another, and `emails@v2` under all three (same name, three
 * queues); every state in some queue, one queue in three paused.
 */
function specsFor(seed: number): QueueSpec[] {
  const random = seededRandom(seed)
  const upTo = (max: number) => Math.floor(random() * (max + 1))
  const pairs = [...NAMES.map((name, i) => [PREFIXES[i % PREFIXES.length]!, name] as const), ['bull', 'emails@v2'] as const, ['{bull}', 'emails@v2'] as const]
  return shuffled(pairs, random).map(([prefix, name], i) => {
    const jobs = { waiting: upTo(3), prioritized: upTo(2), delayed: upTo(2), failed: upTo(2), completed: upTo(2), 'waiting-children': upTo(1), active: upTo(1) }
    const forced = STATES[i % STATES.length]!
    jobs[forced] = Math.max(1, jobs[forced])
    return { prefix, name, jobs, childrenPerParent: 1, paused: i % 3 === 1, order: shuffled(STATES, random) }
  })
}

const encoded = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

async function expectQueue(t: Test, app: FastifyInstance, listed: any[], spec: QueueSpec, queue: Queue, now: number): Promise<void> {
  const service = discoveredService({ driver: 'bullmq', prefix: spec.prefix, queue: spec.name })
  const label = `${spec.prefix} ${spec.name}`
  const shown = listed.find((q) => q.service === service && q.name === spec.name)
  if (!t.ok(shown, `${label}: listed under ${service}, named exactly`)) return
  t.equal(shown.prefix, spec.prefix, `${label}: its prefix as found`)

  const counts = await queue.getJobCounts()
  const isPaused = await queue.isPaused()
  const held = counts.waiting! + counts.prioritized! + (counts.paused ?? 0)
  t.same(
    { waiting: shown.waiting, paused: shown.paused, isPaused: shown.isPaused, waitingChildren: shown.waitingChildren, active: shown.active, delayed: shown.delayed, failed: shown.failed, completed: shown.completed },
    {
      waiting: isPaused ? 0 : held,
      paused: isPaused ? held : 0,
      isPaused,
      waitingChildren: counts['waiting-children'],
      active: counts.active,
      delayed: counts.delayed,
      failed: counts.failed,
      completed: counts.completed,
    },
    `${label}: counts as BullMQ's getJobCounts and isPaused`,
  )
  t.equal(shown.isPaused, spec.paused, `${label}: paused as built`)
  t.equal(shown.waitingChildren, spec.jobs['waiting-children'], `${label}: waiting-children as built`)

  // the SDK's probe of the same queue, at the same time, dates it the same
  const probe = createBullmqProbe(spec.name, { redis, prefix: spec.prefix, failedPageSize: 0, now: () => now })
  const sdk = await probe.probe()
  t.equal(shown.oldestWaitingMs, sdk.oldestWaitingMs, `${label}: the console's oldest waiting age is the SDK's (${sdk.oldestWaitingMs})`)
  t.same({ ...sdk.metrics }, Object.fromEntries(Object.keys(sdk.metrics).map((k) => [k, shown[k]])), `${label}: the SDK counts it as the console does`)

  // every URL of the queue round-trips its name
  const page = await app.inject(queueUrl(service, spec.name))
  t.equal(page.statusCode, 200, `${label}: its page`)
  t.ok(page.body.includes(`<span aria-current="page">${encoded(spec.name)}</span>`), `${label}: its page names it, escaped`)
  t.ok(page.body.includes(`<code>${encoded(spec.prefix)}</code>`), `${label}: its page shows the prefix`)
  const summary = await app.inject(`${queueUrl(service, spec.name)}/fragments/summary`)
  t.equal(summary.statusCode, 200)
  t.equal(summary.body.includes('q-paused'), isPaused, `${label}: the paused marker when paused, only then`)
  t.equal((await app.inject(`${queueUrl(service, spec.name)}/fragments/failed`)).statusCode, 200)
  const jobs = await app.inject(`${queueApiUrl(service, spec.name)}/jobs?state=failed`)
  t.same({ status: jobs.statusCode, queue: jobs.json().queue, total: jobs.json().total }, { status: 200, queue: spec.name, total: counts.failed }, `${label}: its failed jobs through the API`)
  const history = await app.inject(`${queueApiUrl(service, spec.name)}/history?range=1h`)
  t.equal(history.statusCode, 200, `${label}: its history through the API`)
}

for (const seed of [7, 19, 44]) {
  t.test(`seed ${seed}: odd names under three prefixes, every state, each queue its own`, async (t) => {
    await redis.flushall()
    const specs = specsFor(seed)
    const fleet = await buildBullmqFleet(redisServer.url, specs, seed)
    t.teardown(() => fleet.close())
    const clock = fakeClock(Date.now() + 60_000)
    const app = await buildTestApp({ redisUrl: redisServer.url, clock })
    t.teardown(() => app.close())
    await app.collector.refresh()
    const listed: any[] = (await app.inject('/api/pulse/queues')).json().queues
    t.same(listed.map((q) => `${q.prefix}|${q.name}`).sort(), specs.map((s) => `${s.prefix}|${s.name}`).sort(), 'one row per queue: no prefix merged, no name lost')
    t.equal(new Set(listed.map((q) => q.service)).size, PREFIXES.length, 'one service per prefix')
    for (const spec of specs) await expectQueue(t, app, listed, spec, fleet.queues.get(spec)!, clock())
  })
}

t.test('rate limits: shown while BullMQ says the queue is limited, as long as it says', async (t) => {
  await redis.flushall()
  const connection = { url: redisServer.url }
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const made: { queue: Queue; worker: Worker }[] = []
  for (const [prefix, name] of [
    ['bull', 'send email'],
    ['{bull}', 'send email'],
    ['app:bull', 'emails@v2'],
  ] as const) {
    const queue = new Queue(name, { connection, prefix })
    const worker = new Worker(name, null, { connection, prefix, autorun: false })
    made.push({ queue, worker })
    t.teardown(async () => {
      await worker.close()
      await queue.close()
    })
    await queue.add('job', {})
  }
  const [free, limited, global] = made
  // limited by a worker (no queue-wide maximum): BullMQ answers the limiter's TTL
  await limited!.worker.rateLimit(60_000)
  // a queue-wide maximum reached
  await global!.queue.setGlobalRateLimit(1, 60_000)
  await global!.worker.rateLimit(30_000)

  await app.collector.refresh()
  const listed: any[] = (await app.inject('/api/pulse/queues')).json().queues
  for (const { queue } of made) {
    const prefix = queue.opts.prefix!
    const shown = listed.find((q) => q.prefix === prefix && q.name === queue.name)
    const after = await queue.getRateLimitTtl()
    if (after > 0) {
      // read before BullMQ's own answer, so at least as long, and never past the window set
      t.ok(shown.rateLimitedMs >= after && shown.rateLimitedMs <= (queue === global!.queue ? 30_000 : 60_000), `${prefix} ${queue.name}: limited for ${shown.rateLimitedMs} ms, BullMQ then said ${after}`)
      const summary = await app.inject(`${queueUrl(shown.service, shown.name)}/fragments/summary`)
      t.match(summary.body, 'q-rate-limited')
    } else {
      t.notOk('rateLimitedMs' in shown, `${prefix} ${queue.name}: not limited, as BullMQ says (${after})`)
    }
  }
  t.ok((await free!.queue.getRateLimitTtl()) <= 0 && (await limited!.queue.getRateLimitTtl()) > 0 && (await global!.queue.getRateLimitTtl()) > 0, 'the setup made one free and two limited queues')
})

t.test('Laravel queues {high} and a:b, with and without a prefix', async (t) => {
  await redis.flushall()
  const clock = fakeClock(Date.now())
  const seconds = clock() / 1000
  await redis.rpush('queues:{high}', laravelPayload('1', seconds - 30), laravelPayload('2', seconds - 5))
  await redis.zadd('queues:{high}:reserved', seconds + 60, laravelPayload('3', seconds - 40))
  await redis.zadd('queues:a:b:delayed', seconds + 60, laravelPayload('4', seconds))
  await redis.rpush('queues:a:b', laravelPayload('5', seconds - 12))
  await redis.rpush('app:queues:a:b', laravelPayload('6', seconds - 7))
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const listed: any[] = (await app.inject('/api/pulse/queues')).json().queues
  t.same(listed.map((q) => `${q.service}|${q.prefix}|${q.name}`).sort(), ['app|app:|a:b', 'laravel||a:b', 'laravel||{high}'])
  t.match(
    listed.find((q) => q.name === '{high}'),
    { waiting: 2, active: 1, delayed: 0, oldestWaitingMs: 30_000 },
  )
  t.match(
    listed.find((q) => q.service === 'laravel' && q.name === 'a:b'),
    { waiting: 1, delayed: 1, oldestWaitingMs: 12_000 },
  )
  t.match(
    listed.find((q) => q.service === 'app'),
    { waiting: 1, oldestWaitingMs: 7_000 },
  )
  for (const q of listed) {
    const page = await app.inject(queueUrl(q.service, q.name))
    t.equal(page.statusCode, 200, `${q.service} ${q.name}: its page`)
    t.ok(page.body.includes(`<span aria-current="page">${q.name}</span>`))
    t.equal((await app.inject(`${queueUrl(q.service, q.name)}/fragments/summary`)).statusCode, 200)
  }
})

t.test('a name the queue system never allows is refused at the route, not looked up', async (t) => {
  await redis.flushall()
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  t.equal((await app.inject(queueUrl('bull', 'line\nbreak'))).statusCode, 400, 'a control character')
  t.equal((await app.inject(queueUrl('bull', 'x'.repeat(257)))).statusCode, 400, 'over 256 characters')
  t.equal((await app.inject(queueUrl('bull', 'x'.repeat(256)))).statusCode, 404, '256 characters: a name, not reported')
  t.equal((await app.inject(queueUrl('bad service', 'q'))).statusCode, 400, 'services keep the name rule')
})
