/**
 * One live job in full (`app.liveJobs.get`), and Laravel's lists: a BullMQ job with a 10 MB data
 * field, secrets in its data and a huge log comes back bounded and redacted, with its state found
 * from BullMQ's keys; Laravel payloads as Laravel writes them are listed newest first, an
 * oversized or foreign one kept as a row that says why.
 */
import t from 'tap'
import { Queue, Worker } from 'bullmq'
import { JOB_RECORD_LIMITS } from '@gravito/quasar/protocol'
import { laravelKeys } from '@gravito/quasar/layouts'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { LIVE_PAGE_CACHE_MS } from '../../server/queues/live-reader.js'
import { LIST_JOBS_LOG_LINES as LOG_LINES, LIST_JOBS_LOG_LINE_CHARS as LOG_LINE_CHARS } from '@gravito/quasar/protocol'
import { discoveredQueue, laravelPayload } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)
const connection = { url: redisServer.url }

t.test('a job with 10 MB of data and a huge log, read in full but bounded', async (t) => {
  await redis.flushall()
  const queue = new Queue('big', { connection })
  t.teardown(() => queue.close())
  const huge = await queue.add('huge', { blob: 'x'.repeat(10 * 1024 * 1024) })
  const small = await queue.add('small', { to: 'a@example.com', password: 'hunter2', nested: { apiToken: 'abc' } }, { attempts: 3, backoff: { type: 'fixed', delay: 3_600_000 } })
  const worker = new Worker(
    'big',
    async (job) => {
      if (job.name !== 'small') return null
      for (let i = 0; i < 500; i++) await job.log(`line ${i}`)
      await job.log('y'.repeat(5 * 1024 * 1024))
      throw new Error('smtp <refused>')
    },
    { connection },
  )
  t.teardown(() => worker.close())
  await eventually(async () => (await queue.getDelayedCount()) === 1 && (await queue.getCompletedCount()) === 1, 'the small job failed once, to be retried in an hour')
  await worker.close()

  const app = await buildTestApp({ redisUrl: redisServer.url, clock: fakeClock(Date.now()) })
  t.teardown(() => app.close())
  const record = await discoveredQueue(app, 'bull', 'big')
  t.ok(record, 'the queue is discovered')

  const big = (await app.liveJobs.get(record, huge.id!))!
  t.equal(big.name, 'huge')
  t.equal(big.state, 'completed')
  t.match(big.data, /^"\[\d+ bytes, too large to show\]"$/, 'a 10 MB data field is measured, not read')
  t.ok(big.data!.length < 100)

  const detail = (await app.liveJobs.get(record, small.id!))!
  t.equal(detail.state, 'delayed', 'found in the delayed set, where BullMQ keeps a job waiting for its retry')
  t.equal(detail.attemptsMade, 1)
  const data = JSON.parse(detail.data!)
  t.equal(data.to, 'a@example.com')
  t.not(data.password, 'hunter2', 'secrets are redacted')
  t.not(data.nested.apiToken, 'abc', 'nested secrets too')
  t.match(JSON.parse(detail.opts!), { attempts: 3 })
  t.equal(detail.stacks.length, 1)
  t.match(detail.stacks[0], /^Error: smtp <refused>\n\s+at /, 'the real stack')
  t.equal(detail.failedReason, 'smtp <refused>')
  t.equal(detail.logs.length, LOG_LINES, 'the last lines of the log only')
  t.equal(detail.logs[0], `line ${501 - LOG_LINES}`, 'the newest last')
  const last = detail.logs.at(-1)!
  t.ok(last.length <= LOG_LINE_CHARS + 32, 'a 5 MB log line is cut inside Redis')
  t.match(last, /^y+… \[5242880 bytes\]$/)
  t.ok(detail.data!.length <= JOB_RECORD_LIMITS.data + 64)

  t.equal(await app.liveJobs.get(record, 'no-such-job'), null, 'a job the queue no longer holds is null')
  await redis.set('bull:big:oddity', 'a string, not a job hash')
  t.equal(await app.liveJobs.get(record, 'oddity'), null, 'a key of another type is no job')
})

t.test('a name of megabytes and an id of megabytes: the row and the page say so, and the bytes stay in Redis', async (t) => {
  await redis.flushall()
  const queue = new Queue('hostile', { connection })
  t.teardown(() => queue.close())
  const named = await queue.add('n'.repeat(2 * 1024 * 1024), { i: 1 })
  const plain = await queue.add('plain', { i: 2 })
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const record = await discoveredQueue(app, 'bull', 'hostile')
  const sent = async () => Number(/total_net_output_bytes:(\d+)/.exec(await redis.info('stats'))![1])

  const before = await sent()
  const page = await app.liveJobs.list(record, 'waiting', 1)
  const detail = (await app.liveJobs.get(record, named.id!))!
  const crossed = (await sent()) - before
  t.ok(crossed < 256 * 1024, `a page and a detail read sent ${crossed} bytes, not the 2 MB name`)
  t.same(
    page.jobs.map((job) => [job.id, job.name]),
    [
      [plain.id, 'plain'],
      [named.id, `[${2 * 1024 * 1024} bytes, too large to show]`],
    ],
    'every row, the one with the huge name saying how large it is',
  )
  t.equal(detail.name, `[${2 * 1024 * 1024} bytes, too large to show]`)
  t.equal(JSON.parse(detail.data!).i, 1, 'the rest of the detail is read as usual')

  await redis.lpush('bull:hostile:wait', 'i'.repeat(1024 * 1024))
  clock.advance(LIVE_PAGE_CACHE_MS + 1)
  const broken = await app.liveJobs.list(record, 'waiting', 1)
  t.same(broken.jobs, [], 'a page holding an id of a megabyte lists nothing')
  t.equal(broken.error, `bull:hostile:wait: a value of ${1024 * 1024} bytes, over the 4096 read`, 'and says which key and why')
  t.ok((await sent()) - before - crossed < 256 * 1024, 'the id stayed in Redis')
})

t.test('Laravel jobs listed newest first, page by page, payloads parsed bounded', async (t) => {
  await redis.flushall()
  const keys = laravelKeys('laravel_database_', 'default')
  const random = seededRandom(7)
  const base = Math.floor(Date.now() / 1000) - 3600
  // 130 pending jobs pushed in order (RPUSH, as Laravel does), one of them 200 KB, one not Laravel's
  const pending = Array.from({ length: 130 }, (_, i) => ({ id: `p${i}`, raw: laravelPayload(`p${i}`, base + i, i === 40 ? { data: { blob: 'z'.repeat(200_000) } } : {}) }))
  pending[77]!.raw = '{"not":"a laravel job"}'
  for (const job of pending) await redis.rpush(keys.list, job.raw)
  // delayed and reserved: sorted sets scored in Unix seconds, written in a shuffled order
  const delayed = shuffled(
    Array.from({ length: 75 }, (_, i) => ({ id: `d${i}`, due: base + 7200 + i * 10 })),
    random,
  )
  for (const job of delayed) await redis.zadd(keys.delayed, job.due, laravelPayload(job.id, base, { attempts: 1 }))
  const reserved = shuffled(
    Array.from({ length: 60 }, (_, i) => ({ id: `r${i}`, until: base + 3700 + i })),
    random,
  )
  for (const job of reserved) await redis.zadd(keys.reserved, job.until, laravelPayload(job.id, base, { attempts: 2 }))

  const app = await buildTestApp({ redisUrl: redisServer.url, clock: fakeClock(Date.now()) })
  t.teardown(() => app.close())
  await discoveredQueue(app, 'laravel_database', 'default')
  const list = async (state: string, page: number) => (await app.inject(`/api/pulse/queues/laravel_database/default/jobs?state=${state}&page=${page}`)).json()

  const pages = async (state: string) => {
    const rows: any[] = []
    for (let page = 1; page < 10; page++) {
      const answer = await list(state, page)
      if (answer.jobs.length === 0) return { rows, total: answer.total }
      rows.push(...answer.jobs)
    }
    throw new Error('too many pages')
  }
  const waiting = await pages('waiting')
  t.equal(waiting.total, 130)
  t.same(
    waiting.rows.map((row) => row.id),
    pending.map((job, i) => (i === 77 ? '#53' : i === 40 ? '#90' : `uuid-${job.id}`)).reverse(),
    'newest (last pushed) first, each once; rows without a readable payload are named by position',
  )
  t.match(waiting.rows[0], { name: 'App\\Jobs\\SendWelcomeEmail', addedAt: (base + 129) * 1000, attemptsMade: 0 })
  t.match(
    waiting.rows.find((row) => row.id === '#90'),
    { name: /^\[\d+ bytes, too large to show\]$/ },
  )
  t.match(
    waiting.rows.find((row) => row.id === '#53'),
    { name: '[not a Laravel job payload]' },
  )

  const later = await pages('delayed')
  t.equal(later.total, 75)
  t.same(
    later.rows.map((row) => row.dueAt),
    delayed.map((job) => job.due * 1000).sort((a, b) => b - a),
    'delayed: latest due first, each once',
  )
  const running = await pages('active')
  t.equal(running.total, 60)
  t.same(new Set(running.rows.map((row) => row.id)), new Set(reserved.map((job) => `uuid-${job.id}`)))
  t.ok(running.rows.every((row) => row.attemptsMade === 2))

  for (const state of ['failed', 'completed', 'prioritized']) {
    t.match(await list(state, 1), { jobs: [], total: null, error: `Laravel keeps no ${state} jobs in Redis` }, `${state} cannot be listed, and says so`)
  }
})
