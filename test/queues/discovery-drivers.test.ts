/**
 * Zero-config discovery against a real Redis: real BullMQ queues (a worker that really throws, so
 * the failed jobs are real) and Laravel-shaped keys written as Laravel writes them, found with no
 * agent, shown read-only and re-read about every 10 s; keys that only look like queues left out.
 */
import t from 'tap'
import { Queue, Worker } from 'bullmq'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { laravelPayload, writeSnapshot } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const connection = { url: redisServer.url }

t.test('BullMQ queues with real failed jobs, discovered read-only', async (t) => {
  await redis.flushall()
  const clock = fakeClock(Date.now())
  const emails = new Queue('emails', { connection })
  t.teardown(() => emails.close())
  // jobs that fail for real: the worker throws with markup in the message, the data holds markup too
  await emails.addBulk([
    { name: 'welcome', data: { to: 'a@example.com', html: '<script>alert(1)</script>' } },
    { name: 'welcome', data: { to: 'b@example.com' } },
    { name: 'digest', data: { big: 'x'.repeat(100_000) } },
  ])
  const worker = new Worker(
    'emails',
    async (job) => {
      throw new Error(`mailbox <b>${job.data.to ?? 'none'}</b> refused`)
    },
    { connection },
  )
  t.teardown(() => worker.close())
  await eventually(async () => (await emails.getFailedCount()) === 3, 'three jobs failed')
  await worker.close()
  await emails.addBulk([
    { name: 'welcome', data: { n: 1 } },
    { name: 'welcome', data: { n: 2 } },
  ])
  await emails.add('later', { n: 3 }, { delay: 60_000 })
  await emails.add('urgent', { n: 4 }, { priority: 1 })

  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await app.collector.refresh()

  const [queue] = (await app.inject('/api/pulse/queues')).json().queues
  t.match(queue, {
    service: 'bull',
    name: 'emails',
    driver: 'bullmq',
    source: 'discovered',
    commands: [],
    readOnlyReason: 'discovered in Redis, no agent',
    waiting: 3,
    active: 0,
    delayed: 1,
    failed: 3,
    completed: 0,
    paused: 0,
    timestamp: clock(),
  })
  t.notOk('nodeId' in queue, 'no agent owns it')
  t.ok(queue.oldestWaitingMs >= 0, 'oldest waiting age from the job hash')

  const { jobs, total } = (await app.inject('/api/pulse/queues/bull/emails/jobs?state=failed')).json()
  t.equal(total, 3)
  t.equal(jobs.length, 3)
  const first = jobs.find((job: any) => job.data?.includes('a@example.com'))
  t.match(first, { name: 'welcome', failedReason: 'mailbox <b>a@example.com</b> refused', attemptsMade: 1 })
  t.match(first.stacktrace[0], /^Error: mailbox <b>a@example.com<\/b> refused\n\s+at /, 'the real stack trace')
  t.type(first.timestamp, 'number')
  const digest = jobs.find((job: any) => job.name === 'digest')
  t.match(digest.data, /^\[\d+ bytes, too large to show\]$/, 'a 100 KB payload is measured, not read')

  const page = await app.inject('/queues/bull/emails')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'discovered · read-only')
  t.notMatch(page.body, /<script>alert|<b>a@example/, 'job data and reasons escaped')
  t.match(page.body, '&lt;script&gt;alert(1)&lt;/script&gt;')
  t.match(page.body, /&quot;to&quot;: &quot;a@example.com&quot;/, 'payload pretty-printed (two-space indent), escaped')
  t.match(page.body, '<details class="job-detail">')

  // not re-read every tick: counts move only once about 10 s have passed
  await emails.add('welcome', { n: 5 })
  clock.advance(2_000)
  await app.collector.refresh()
  t.equal((await app.inject('/api/pulse/queues')).json().queues[0].waiting, 3, 'same counts 2 s later')
  clock.advance(8_000)
  await app.collector.refresh()
  t.equal((await app.inject('/api/pulse/queues')).json().queues[0].waiting, 4, 're-read 10 s later')

  // throughput of a discovered queue: completed jobs between two readings
  const done = new Worker('emails', async () => 'ok', { connection })
  t.teardown(() => done.close())
  // the four waiting (one of them prioritized); the delayed one is not due
  await eventually(async () => (await emails.getCompletedCount()) === 4, 'the waiting jobs completed')
  await done.close()
  clock.advance(10_000)
  await app.collector.refresh()
  const drained = (await app.inject('/api/pulse/queues')).json().queues[0]
  t.match(drained, { waiting: 0, delayed: 1, completed: 4, throughput: 0.4 }, '4 jobs in 10 s')

  // a paused queue: its waiting jobs are counted as paused, never in both
  await emails.addBulk([
    { name: 'welcome', data: { n: 6 } },
    { name: 'welcome', data: { n: 7 } },
  ])
  await emails.pause()
  clock.advance(10_000)
  await app.collector.refresh()
  t.match((await app.inject('/api/pulse/queues')).json().queues[0], { waiting: 0, paused: 2 })
  await emails.resume()
  clock.advance(10_000)
  await app.collector.refresh()
  t.match((await app.inject('/api/pulse/queues')).json().queues[0], { waiting: 2, paused: 0 })
})

t.test("a discovered queue whose finished jobs are removed shows throughput from BullMQ's metrics", async (t) => {
  await redis.flushall()
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const reports = new Queue('reports', { connection })
  t.teardown(() => reports.close())
  const worker = new Worker(
    'reports',
    async (job) => {
      if ((job.data as { fail: boolean }).fail) throw new Error('no data')
    },
    { connection, metrics: { maxDataPoints: 60 } },
  )
  worker.on('error', () => {})
  t.teardown(() => worker.close())
  const finished = async () => (await reports.getMetrics('completed')).meta.count + (await reports.getMetrics('failed')).meta.count
  const run = async (count: number) => {
    const before = await finished()
    await reports.addBulk(Array.from({ length: count }, (_, n) => ({ name: 'build', data: { fail: n === 0 }, opts: { removeOnComplete: true, removeOnFail: true } })))
    await eventually(async () => (await finished()) === before + count, `${count} more jobs finished`)
  }
  await run(4)
  await app.collector.refresh()
  const first = (await app.inject('/api/pulse/queues')).json().queues[0]
  t.match(first, { service: 'bull', name: 'reports', completed: 0, failed: 0, processed: 4 }, 'nothing kept, four counted')
  t.notOk('throughput' in first, 'one reading: no rate yet')

  await run(20)
  clock.advance(10_000)
  await app.collector.refresh()
  const second = (await app.inject('/api/pulse/queues')).json().queues[0]
  t.match(second, { completed: 0, failed: 0, processed: 24, throughput: 2 }, '20 jobs in 10 s, though none is kept')
})

t.test('Laravel-shaped keys discovered; look-alikes left out', async (t) => {
  await redis.flushall()
  const clock = fakeClock(Date.now())
  const nowSeconds = clock() / 1000
  // as Laravel's RedisQueue writes them: RPUSH payloads, delayed and reserved sorted sets (seconds)
  await redis.rpush('queues:emails', laravelPayload('1', nowSeconds - 90), laravelPayload('2', nowSeconds - 10))
  await redis.zadd('queues:emails:delayed', nowSeconds + 300, laravelPayload('3', nowSeconds))
  await redis.zadd('queues:emails:reserved', nowSeconds + 60, laravelPayload('4', nowSeconds - 30))
  await redis.rpush('queues:emails:notify', '1')
  // with Laravel's default client prefix
  await redis.rpush('laravel_database_queues:default', laravelPayload('5', nowSeconds - 5))
  // only delayed jobs: the list key does not exist
  await redis.zadd('queues:later:delayed', nowSeconds + 60, laravelPayload('6', nowSeconds))
  // look-alikes: a list of something else, a string, a protocol snapshot, BullMQ keys
  await redis.rpush('queues:other', 'just a string')
  await redis.set('queues:settings', '{"a":1}')
  await writeSnapshot(redis, 'billing', { timestamp: clock(), queues: [{ name: 'jobs', driver: 'other', metrics: { waiting: 1 } }] })
  await redis.rpush('bull:queues:wait', '1')
  await redis.hset('cache:meta', 'x', '1')

  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const queues = (await app.inject('/api/pulse/queues')).json().queues
  t.same(
    queues.map((q: any) => `${q.service}/${q.name}/${q.source}`),
    ['billing/jobs/agent', 'laravel/emails/discovered', 'laravel/later/discovered', 'laravel_database/default/discovered'],
  )
  const emails = queues.find((q: any) => q.name === 'emails')
  t.match(emails, { driver: 'laravel', waiting: 2, active: 1, delayed: 1, failed: null, commands: [] })
  t.ok(emails.oldestWaitingMs >= 89_000 && emails.oldestWaitingMs <= 91_000, `oldest waiting from pushedAt (${emails.oldestWaitingMs})`)
  t.match(
    queues.find((q: any) => q.name === 'later'),
    { waiting: 0, delayed: 1 },
  )

  const page = await app.inject('/queues/laravel/emails')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Laravel keeps them in the database')
  const table = await app.inject('/queues')
  t.match(table.body, '<span class="driver driver-laravel">Laravel</span>')
  t.match(table.body, /<span class="q-source"[^>]*>discovered<\/span>/)

  // the list drained and its sets gone: dropped once the next walk no longer finds it
  await redis.del('queues:emails', 'queues:emails:delayed', 'queues:emails:reserved')
  clock.advance(10_000)
  await app.collector.refresh()
  t.notOk((await app.inject('/api/pulse/queues')).json().queues.some((q: any) => q.name === 'emails'))
})
