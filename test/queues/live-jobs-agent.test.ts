/**
 * An agent's queue listed through LIST_JOBS: a real SDK agent (`startPulse`) answers the signed
 * request for every page of a real BullMQ queue and for one job in full, without a single command
 * reaching the audit log; a hostile agent's forged, oversized or off-topic answers are ignored and
 * shown as errors; an agent that does not declare LIST_JOBS keeps showing its snapshot's failed jobs.
 */
import t, { type Test } from 'tap'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { startPulse } from '@gravito/quasar'
import { createKeys, LIST_JOBS_ANSWER_MAX_BYTES, LIST_JOBS_PAGE_SIZE, type SignedCommand } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { findQueue } from '../../server/queues/service.js'
import { LIVE_PAGE_CACHE_MS } from '../../server/queues/live-reader.js'
import { beat, laravelPayload, writeSnapshot } from './helpers.js'
import { laravelKeys } from '@gravito/quasar/layouts'

const TOKEN = 'a-shared-token-long-enough-to-sign'
const { server: redisServer, redis } = await useRedis(t)
const connection = { url: redisServer.url }
const protocolKeys = createKeys()

t.test('a real agent answers LIST_JOBS for every page, and one job in full', async (t) => {
  await redis.flushall()
  const random = seededRandom(3)
  const queue = new Queue('orders', { connection })
  t.teardown(() => queue.close())
  await queue.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: `doomed-${i}`, data: { i, password: 'p4ss' } })))
  const worker = new Worker(
    'orders',
    async (job) => {
      await job.log(`trying ${job.name}`)
      throw new Error(`no stock for ${job.name}`)
    },
    { connection },
  )
  await eventually(async () => (await queue.getFailedCount()) === 4, 'four jobs failed')
  await worker.close()
  for (const [i, kind] of shuffled([...Array.from({ length: 73 }, () => 'now'), ...Array.from({ length: 9 }, () => 'later')], random).entries()) {
    await queue.add(`${kind}-${i}`, { i }, kind === 'later' ? { delay: 600_000 } : {})
  }

  const agent = startPulse({ service: 'shop', nodeId: 'worker-1', url: redisServer.url, token: TOKEN, intervalMs: 300 }).monitorQueue('orders', 'bullmq')
  t.teardown(() => agent.stop())
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: redisServer.url, quasarToken: TOKEN, clock: () => Date.now() })
  t.teardown(() => app.close())
  await eventually(async () => {
    await app.collector.refresh()
    return findQueue(app.collector.snapshot, 'shop', 'orders')?.listsJobs === true
  }, 'the agent declares LIST_JOBS')
  void clock

  const truth = (await queue.getJobs(['wait'], 0, -1)).map((job) => job.id)
  const seen: string[] = []
  for (let page = 1; page <= 3; page++) {
    const answer = (await app.inject(`/api/pulse/queues/shop/orders/jobs?state=waiting&page=${page}`)).json()
    t.match(answer, { state: 'waiting', source: 'live', page, pageSize: LIST_JOBS_PAGE_SIZE, total: 73 }, `waiting page ${page}`)
    t.notOk('error' in answer, answer.error)
    seen.push(...answer.jobs.map((job: { id: string }) => job.id))
  }
  t.same(seen, truth, "every waiting job once, in BullMQ's order, over the agent")

  const delayed = (await app.inject('/api/pulse/queues/shop/orders/jobs?state=delayed&page=1')).json()
  t.equal(delayed.total, 9)
  t.equal(delayed.jobs.length, 9)
  t.ok(
    delayed.jobs.every((job: { dueAt: number }) => job.dueAt > Date.now()),
    'delayed rows say when they are due',
  )
  const failed = (await app.inject('/api/pulse/queues/shop/orders/jobs?state=failed&page=1')).json()
  t.equal(failed.total, 4)
  t.ok(
    failed.jobs.every((job: { name: string; failedReason: string }) => job.failedReason === `no stock for ${job.name}`),
    'failed rows with their reasons',
  )
  t.notOk(
    failed.jobs.some((job: object) => 'data' in job),
    'no payload on a list',
  )

  const record = findQueue(app.collector.snapshot, 'shop', 'orders')!
  const detail = (await app.liveJobs.get(record, failed.jobs[0].id))!
  t.match(detail, { id: failed.jobs[0].id, state: 'failed', failedReason: /^no stock for doomed-\d$/ })
  t.equal(JSON.parse(detail.data!).password !== 'p4ss', true, 'secrets redacted by the agent')
  t.match(detail.stacks[0], /^Error: no stock for doomed-\d\n\s+at /)
  t.same(detail.logs, [`trying ${detail.name}`], 'the job log')
  t.equal(await app.liveJobs.get(record, 'no-such-job'), null, 'a job the queue no longer holds')

  t.equal(await redis.hlen(app.keys.auditPending()), 0, 'a read request is never pending')
  t.equal(await redis.xlen(app.keys.auditLog()), 0, 'nor audited')

  // the page is served from the cache: a second viewer costs the agent nothing
  const stream = protocolKeys.commandStream('shop', 'worker-1')
  const sent = await redis.xlen(stream)
  await app.inject('/api/pulse/queues/shop/orders/jobs?state=waiting&page=1')
  t.equal(await redis.xlen(stream), sent, 'no second request within the cache period')
  t.ok(LIVE_PAGE_CACHE_MS > 0)
})

/** A node that answers every LIST_JOBS on its stream with what `answer` writes. */
function hostileNode(t: Test, service: string, nodeId: string, answer: (command: SignedCommand) => string | null) {
  const reader = new Redis(redisServer.url)
  let stopped = false
  // from the stream's start (it is empty when the node starts listening): '$' would miss entries added between two reads
  let last = '0'
  const loop = (async () => {
    while (!stopped) {
      const read = (await reader.xread('COUNT', 10, 'BLOCK', 100, 'STREAMS', protocolKeys.commandStream(service, nodeId), last).catch(() => null)) as [string, [string, string[]][]][] | null
      for (const [, entries] of read ?? []) {
        for (const [id, fields] of entries) {
          last = id
          const command = JSON.parse(fields[1]!) as SignedCommand
          const raw = answer(command)
          if (raw !== null) await redis.set(protocolKeys.commandResult(service, command.id), raw, 'EX', 60)
        }
      }
    }
  })()
  t.teardown(async () => {
    stopped = true
    await loop
    reader.disconnect()
  })
}

t.test('a hostile agent: forged, oversized and off-topic answers are ignored and shown as errors', async (t) => {
  await redis.flushall()
  const now = Date.now()
  const entry = (name: string, commands: string[]) => ({
    name,
    driver: 'bullmq',
    commands,
    metrics: { waiting: 3, active: 0, delayed: 0, failed: 1 },
    failedJobs: [{ id: 'f1', name: 'old', failedReason: 'from the snapshot', timestamp: now }],
  })
  await writeSnapshot(redis, 'evil', {
    nodeId: 'n1',
    timestamp: now,
    queues: [entry('big', ['LIST_JOBS']), entry('forged', ['LIST_JOBS']), entry('offtopic', ['LIST_JOBS']), entry('stranger', ['LIST_JOBS']), entry('old', ['RETRY_JOB'])],
  })
  await beat(redis, 'evil', 'n1', now)
  const base = (command: SignedCommand) => ({ id: command.id, status: 'ok', service: command.service, nodeId: command.nodeId, finishedAt: Date.now() })
  const row = (id: string, state: string) => ({ id, name: 'x', state, attemptsMade: 0, addedAt: 1, startedAt: null, finishedAt: null })
  hostileNode(t, 'evil', 'n1', (command) => {
    const page = { kind: 'page', state: 'waiting', page: 1, pageSize: 50, total: 3 }
    if (command.queue === 'big') return JSON.stringify({ ...base(command), answer: { ...page, jobs: [{ ...row('a', 'waiting'), name: 'n'.repeat(LIST_JOBS_ANSWER_MAX_BYTES) }] } })
    if (command.queue === 'forged') return JSON.stringify({ ...base(command), answer: { ...page, jobs: [{ ...row('a', 'waiting'), attemptsMade: -5, name: { html: '<script>' } }] } })
    if (command.queue === 'offtopic') return JSON.stringify({ ...base(command), answer: { ...page, jobs: [row('a', 'failed'), row('b', 'failed')] } })
    if (command.queue === 'stranger') return JSON.stringify({ ...base(command), id: 'AAAAAAAAAAAAAAAA' })
    return null
  })

  const app = await buildTestApp({ redisUrl: redisServer.url, quasarToken: TOKEN })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const list = async (queue: string, state = 'waiting') => (await app.inject(`/api/pulse/queues/evil/${queue}/jobs?state=${state}&page=1`)).json()

  t.match(await list('big'), { jobs: [], total: null, error: `the agent's answer is larger than ${LIST_JOBS_ANSWER_MAX_BYTES / 1024} KB: ignored` })
  t.match(await list('forged'), { jobs: [], total: null, error: /^the agent's answer is unreadable \(not a LIST_JOBS answer/ })
  t.match(await list('offtopic'), { jobs: [], total: null, error: 'the agent answered another question: ignored' })
  t.match(await list('stranger'), { jobs: [], error: 'the answer names another request or node: ignored' }, 'an answer naming another id is never taken for this one')

  const page = await app.inject('/queues/evil/forged?jobs=waiting')
  t.equal(page.statusCode, 200, 'the queue page stays up')
  t.match(page.body, /class="empty job-error" role="status">the agent&#39;s answer is unreadable/)
  t.notMatch(page.body, '<script>')

  // an agent that never declared LIST_JOBS: its snapshot's failed jobs still show, nothing is asked
  const old = await list('old', 'failed')
  t.match(old, { total: 1, jobs: [{ id: 'f1', state: 'failed', failedReason: 'from the snapshot' }] })
  t.match(await list('old', 'waiting'), { jobs: [], error: /does not answer LIST_JOBS/ })
})

t.test('a real agent lists a Laravel queue too: pending newest first, delayed, and says what Laravel does not keep', async (t) => {
  await redis.flushall()
  const keys = laravelKeys('', 'default')
  const base = Math.floor(Date.now() / 1000) - 600
  for (let i = 0; i < 60; i++) await redis.rpush(keys.list, laravelPayload(`p${i}`, base + i))
  for (let i = 0; i < 3; i++) await redis.zadd(keys.delayed, base + 3600 + i, laravelPayload(`d${i}`, base))

  const agent = startPulse({ service: 'web', nodeId: 'php-bridge', url: redisServer.url, token: TOKEN, intervalMs: 300 }).monitorQueue('default', 'laravel', { prefix: '' })
  t.teardown(() => agent.stop())
  const app = await buildTestApp({ redisUrl: redisServer.url, quasarToken: TOKEN })
  t.teardown(() => app.close())
  await eventually(async () => {
    await app.collector.refresh()
    return findQueue(app.collector.snapshot, 'web', 'default')?.listsJobs === true
  }, 'the agent declares LIST_JOBS for its Laravel queue')

  const list = async (state: string, page: number) => (await app.inject(`/api/pulse/queues/web/default/jobs?state=${state}&page=${page}`)).json()
  const first = await list('waiting', 1)
  const second = await list('waiting', 2)
  t.match(first, { total: 60, source: 'live' })
  t.same(
    [...first.jobs, ...second.jobs].map((job: { id: string }) => job.id),
    Array.from({ length: 60 }, (_, i) => `uuid-p${59 - i}`),
    'every pending job once, the last pushed first',
  )
  t.same(
    (await list('delayed', 1)).jobs.map((job: { dueAt: number }) => job.dueAt),
    [2, 1, 0].map((i) => (base + 3600 + i) * 1000),
  )
  t.match(await list('completed', 1), { jobs: [], error: 'Laravel keeps no completed jobs in Redis' })
  const record = findQueue(app.collector.snapshot, 'web', 'default')!
  await t.rejects(app.liveJobs.get(record, 'uuid-p1'), /cannot show one job/, 'one job in full is not something this driver can do, and it says so')
})
