/**
 * Slow requests and jobs, recorded by a real Fastify app, a real Express app and a real BullMQ
 * worker into a real Redis stream. Durations come from a fake clock the handlers move forward, so
 * which requests count as slow, and for how long, is exact however busy the machine is.
 */
import t from 'tap'
import Fastify from 'fastify'
import express from 'express'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { Queue, Worker } from 'bullmq'
import { startRedis, useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { quasarExpress, quasarFastify, readSlowEntry, SLOW_STREAM_MAXLEN, startPulse, withSlowJobs, type SlowEntry } from '../../src/index.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server: redisServer, redis } = await useRedis(t)

/** A clock the code under test reads and the handlers move: "this took 80 ms" is `clock.advance(80)`. */
function fakeClock() {
  let now = 0
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

async function entries(service: string): Promise<SlowEntry[]> {
  const raw = await redis.xrange(`gravito:quasar:slow:${service}`, '-', '+')
  return raw.map(([id, fields]) => {
    const entry = readSlowEntry(id, fields)
    if (!entry.ok) throw new Error(entry.error)
    return entry.value
  })
}

t.test('recordSlow writes a stream entry with every field, capped with MAXLEN', async (t) => {
  const agent = startPulse({ service: 'direct', nodeId: 'd1', url: redisServer.url })
  t.teardown(() => agent.stop())
  t.equal(agent.recordSlow({ kind: 'request', name: 'GET /report', durationMs: 1234.56, method: 'GET', route: '/report', status: 200 }), true)
  t.equal(agent.recordSlow({ kind: 'job', name: 'send-email', durationMs: 2000, queue: 'emails', jobId: '42', attempts: 2, error: 'smtp down' }), true)
  await eventually(async () => (await entries('direct')).length === 2, 'two entries')
  const [request, job] = await entries('direct')
  t.match(request, { kind: 'request', name: 'GET /report', durationMs: 1234.6, method: 'GET', route: '/report', status: 200, nodeId: 'd1' })
  t.match(job, { kind: 'job', name: 'send-email', queue: 'emails', jobId: '42', attempts: 2, error: 'smtp down' })
  t.ok(request!.timestamp > 0)
})

t.test('invalid records are reported and dropped, never thrown', async (t) => {
  const errors: unknown[] = []
  const agent = startPulse({ service: 'direct-bad', nodeId: 'd1', url: redisServer.url, onError: (e) => errors.push(e) })
  t.teardown(() => agent.stop())
  const bad = [
    { kind: 'query', name: 'x', durationMs: 1 },
    { kind: 'job', name: '', durationMs: 1 },
    { kind: 'job', name: 'x', durationMs: -1 },
    { kind: 'job', name: 'x', durationMs: Number.NaN },
    { kind: 'job', name: 'x'.repeat(300), durationMs: 1 },
    { kind: 'request', name: 'x', durationMs: 1, status: 'ok' },
  ]
  for (const record of bad) t.equal(agent.recordSlow(record as never), false)
  t.equal(errors.length, bad.length, 'each one reported')
  agent.recordSlow({ kind: 'job', name: 'good', durationMs: 5 })
  await eventually(async () => {
    await agent.flushSlow()
    return (await entries('direct-bad')).length > 0
  }, 'the valid record written')
  t.same(
    (await entries('direct-bad')).map((e) => e.name),
    ['good'],
    'only the valid record was written',
  )
})

t.test('the Fastify plugin records slow routes by pattern, with per-route overrides', async (t) => {
  const agent = startPulse({ service: 'fastify-app', nodeId: 'f1', url: redisServer.url })
  t.teardown(() => agent.stop())
  const clock = fakeClock()
  const app = Fastify()
  await app.register(quasarFastify(agent, { thresholdMs: 50, thresholds: { 'GET /exempt': 10_000 }, now: clock.now }))
  app.get('/users/:id', async () => {
    clock.advance(80)
    return { ok: true }
  })
  app.get('/fast', async () => ({ ok: true }))
  app.get('/exempt', async () => {
    clock.advance(80)
    return { ok: true }
  })
  app.get('/took/:ms', async (request) => {
    clock.advance(Number((request.params as { ms: string }).ms))
    return { ok: true }
  })
  t.teardown(() => app.close())
  // requests one after the other, so each one's time is its own
  for (const url of ['/users/17?x=1', '/fast', '/exempt', '/took/49', '/took/50']) t.equal((await app.inject(url)).statusCode, 200)
  await eventually(async () => {
    await agent.flushSlow()
    return (await entries('fastify-app')).length >= 2
  }, 'both slow requests written')
  const recorded = await entries('fastify-app')
  t.same(
    recorded.map((e) => e.name),
    ['GET /users/:id', 'GET /took/:ms'],
    'the route pattern, not the URL; fast and overridden routes not recorded',
  )
  t.match(recorded[0], { kind: 'request', method: 'GET', route: '/users/:id', status: 200, durationMs: 80 })
  t.equal(recorded[1]!.durationMs, 50, 'a request at the threshold counts; one ms under it does not')
})

t.test('the Express middleware records slow routes by pattern', async (t) => {
  const agent = startPulse({ service: 'express-app', nodeId: 'e1', url: redisServer.url })
  t.teardown(() => agent.stop())
  const clock = fakeClock()
  const app = express()
  app.use(quasarExpress(agent, { thresholdMs: 50, now: clock.now }))
  const router = express.Router()
  router.get('/orders/:id', (_request, response) => {
    clock.advance(80)
    response.status(201).send('slow')
  })
  app.use('/api', router)
  app.get('/fast', (_request, response) => void response.send('fast'))
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  t.equal((await fetch(`${base}/api/orders/9?debug=1`)).status, 201)
  t.equal((await fetch(`${base}/fast`)).status, 200)
  await eventually(async () => {
    await agent.flushSlow()
    return (await entries('express-app')).length > 0
  }, 'the slow request recorded')
  const recorded = await entries('express-app')
  t.same(
    recorded.map((e) => e.name),
    ['GET /api/orders/:id'],
  )
  t.match(recorded[0], { status: 201, method: 'GET', durationMs: 80 })
})

t.test('the job wrapper records slow BullMQ jobs and passes errors through unchanged', async (t) => {
  const agent = startPulse({ service: 'worker-app', nodeId: 'w1', url: redisServer.url })
  t.teardown(() => agent.stop())
  const connection = { host: '127.0.0.1', port: redisServer.port }
  const queue = new Queue('slow-jobs', { connection, prefix: 'slowtest' })
  t.teardown(() => queue.close())
  const thrown = new Error('boom: the job failed')
  const seen: unknown[] = []
  const clock = fakeClock()
  const handler = withSlowJobs(
    agent,
    async (job: { name: string }) => {
      clock.advance(job.name === 'quick' ? 49 : 80)
      if (job.name === 'fails') throw thrown
      return 'done'
    },
    { thresholdMs: 50, now: clock.now },
  )
  const worker = new Worker(
    'slow-jobs',
    async (job) => {
      try {
        return await handler(job)
      } catch (error) {
        seen.push(error)
        throw error
      }
    },
    { connection, prefix: 'slowtest' },
  )
  t.teardown(() => worker.close())
  await queue.add('works', {})
  await queue.add('fails', {}, { attempts: 2 })
  await queue.add('quick', {})
  await eventually(async () => (await queue.getFailedCount()) === 1 && (await queue.getCompletedCount()) === 2, 'the three jobs ran')
  t.equal(seen[0], thrown, 'the very same error reached the worker')
  await eventually(async () => {
    await agent.flushSlow()
    return (await entries('worker-app')).length > 0
  }, 'records written')
  const recorded = await entries('worker-app')
  t.same(recorded.map((e) => e.name).sort(), ['fails', 'fails', 'works'], 'the job under the threshold is not recorded; the failing one ran twice')
  t.match(
    recorded.find((e) => e.name === 'fails'),
    { kind: 'job', queue: 'slow-jobs', error: 'boom: the job failed', durationMs: 80 },
  )
  t.equal(recorded.find((e) => e.name === 'works')?.attempts, 1, 'a first run is attempt 1, not 0')
  t.same(
    recorded.filter((e) => e.name === 'fails').map((e) => e.attempts),
    [1, 2],
    'a retry is attempt 2',
  )
})

t.test('with Redis away the buffer keeps the newest records, and flushes them when it returns', async (t) => {
  const own = await startRedis()
  t.teardown(() => own.stop())
  const errors: unknown[] = []
  const agent = startPulse({ service: 'buffered', nodeId: 'b1', url: own.url, onError: (e) => errors.push(e) })
  t.teardown(() => agent.stop())
  await eventually(() => agent.beat(), 'connected')
  await own.kill()
  for (let i = 0; i < 520; i++) agent.recordSlow({ kind: 'job', name: `job-${i}`, durationMs: 1000 + i })
  await agent.flushSlow()
  t.ok(
    errors.some((e) => /20 oldest records dropped/.test(String(e))),
    'the drop is reported',
  )
  await own.restart()
  const check = new Redis(own.url)
  t.teardown(() => check.quit())
  await eventually(async () => {
    await agent.flushSlow()
    return (await check.xlen('gravito:quasar:slow:buffered')) >= 500
  }, 'the buffer flushed after the restart')
  const names = (await check.xrange('gravito:quasar:slow:buffered', '-', '+')).map(([, fields]) => fields[3])
  t.equal(names.length, 500, 'exactly the bound')
  t.equal(names[0], 'job-20', 'the oldest were dropped')
  t.equal(names.at(-1), 'job-519')
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test("the stream's MAXLEN holds: far more records than the cap leave about the cap, the newest kept", async (t) => {
  const agent = startPulse({ service: 'capped', nodeId: 'c1', url: redisServer.url })
  t.teardown(() => agent.stop())
  await eventually(() => agent.beat(), 'connected')
  const written = SLOW_STREAM_MAXLEN * 3
  // in flushes of 250, under the buffer's bound, so every record reaches Redis
  for (let i = 0; i < written; i++) {
    agent.recordSlow({ kind: 'job', name: `job-${i}`, durationMs: 1000 })
    if ((i + 1) % 250 === 0) await agent.flushSlow()
  }
  await agent.flushSlow()
  const key = 'gravito:quasar:slow:capped'
  const length = await redis.xlen(key)
  // `MAXLEN ~` trims whole stream nodes only: at least the cap is kept, and less than one node more
  const [, nodeSetting] = (await redis.config('GET', 'stream-node-max-entries')) as [string, string]
  const nodeEntries = Number(nodeSetting)
  t.ok(length >= SLOW_STREAM_MAXLEN, `${length} entries: at least the cap`)
  t.ok(length < SLOW_STREAM_MAXLEN + nodeEntries, `${length} entries: under the cap plus one node (${nodeEntries}) after ${written} written`)
  const [[id, fields]] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [[string, string[]]]
  const newest = readSlowEntry(id, fields)
  t.equal(newest.ok ? newest.value.name : newest.error, `job-${written - 1}`, 'the newest record is kept')
})
