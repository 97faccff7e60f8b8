/**
 * Queues reported by agents, against a real Redis: snapshots written as the SDK writes them (JSON
 * string, EX 30) and queues carried only by a heartbeat; the API shape, owner nodes and read-only
 * rules; throughput from successive snapshots on a fake clock; the part read by the history
 * recorder and the alert rules; an entry with an error shows no counts.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { queueRows } from '../../server/queues/history-rows.js'
import { metricsFromSnapshot, queueItems } from '../../server/alerts/metrics.js'
import { beat, writeSnapshot } from './helpers.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())
const redis = new Redis(redisServer.url)
t.teardown(() => redis.quit())

t.beforeEach(async () => {
  await redis.flushall()
})

t.test('API shape, owner node and read-only rules', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const failedJob = { id: '42', name: 'send', failedReason: 'SMTP timeout', stacktrace: ['Error: SMTP timeout\n    at send (mail.js:1:1)'], attemptsMade: 3, timestamp: clock() - 5000, data: '{"to":"a@example.com"}' }
  await beat(redis, 'billing', 'worker-1', clock(), [{ name: 'emails', driver: 'bullmq', metrics: { waiting: 5 } }])
  await writeSnapshot(redis, 'billing', {
    timestamp: clock() - 1000,
    nodeId: 'worker-1',
    queues: [
      { name: 'emails', driver: 'bullmq', metrics: { waiting: 12, active: 2, delayed: 1, failed: 7, completed: 900, paused: 0 }, oldestWaitingMs: 5400, failedJobs: [failedJob] },
      { name: 'reports', driver: 'redis-list', metrics: { waiting: 3, active: null } },
    ],
  })
  // a service that reports queues but does not beat: found by the discovery walk, owner unknown
  await writeSnapshot(redis, 'mailer', { timestamp: clock() - 2000, queues: [{ name: 'outbox', driver: 'laravel', metrics: { waiting: 9, active: 1, delayed: 2, failed: 0 } }] })
  // a queue carried only by a heartbeat
  await beat(redis, 'shop', 'node-a', clock() - 3000, [{ name: 'orders', driver: 'bullmq', metrics: { waiting: 4, active: 1, failed: 2 } }])
  // heartbeats reach the queues part through the previous snapshot's nodes
  await app.collector.refresh()
  await app.collector.refresh()

  const response = await app.inject('/api/pulse/queues')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /application\/json/)
  const api = response.json()
  t.equal(api.generatedAt, clock())
  t.same(
    api.queues.map((q: any) => `${q.service}/${q.name}`),
    ['billing/emails', 'billing/reports', 'mailer/outbox', 'shop/orders'],
  )
  t.same(
    api.queues[0],
    {
      service: 'billing',
      name: 'emails',
      driver: 'bullmq',
      waiting: 12,
      active: 2,
      delayed: 1,
      failed: 7,
      completed: 900,
      paused: 0,
      oldestWaitingMs: 5400,
      source: 'agent',
      readOnly: false,
      commands: ['RETRY_JOB', 'DELETE_JOB'],
      nodeId: 'worker-1',
      timestamp: clock() - 1000,
    },
    'the snapshot wins over the heartbeat; failed jobs are not in the list',
  )
  t.match(
    api.queues[1],
    { name: 'reports', driver: 'redis-list', waiting: 3, active: null, delayed: null, failed: null, readOnly: true, commands: [], readOnlyReason: 'its agent does not declare commands', nodeId: 'worker-1' },
    'an undeclared list has no commands',
  )
  t.match(api.queues[2], { service: 'mailer', name: 'outbox', source: 'agent', readOnly: true, commands: [], readOnlyReason: 'no node known' }, 'no node named, none beating: read-only')
  t.notOk('nodeId' in api.queues[2])
  t.match(api.queues[3], { service: 'shop', name: 'orders', waiting: 4, active: 1, failed: 2, delayed: null, nodeId: 'node-a', readOnly: false, timestamp: clock() - 3000 })

  t.same(
    (await app.inject('/api/pulse/queues?service=billing')).json().queues.map((q: any) => q.name),
    ['emails', 'reports'],
  )
  t.same(
    (await app.inject('/api/pulse/queues?driver=laravel')).json().queues.map((q: any) => q.name),
    ['outbox'],
  )
  t.same(
    (await app.inject('/api/pulse/queues?sort=waiting')).json().queues.map((q: any) => q.waiting),
    [12, 9, 4, 3],
    'largest first by default',
  )
  t.same(
    (await app.inject('/api/pulse/queues?sort=failed&dir=asc')).json().queues.map((q: any) => q.failed),
    [0, 2, 7, null],
    'unknown last',
  )
  for (const bad of ['?sort=nope', '?dir=up', '?driver=kafka', '?service=a:b', '?service=%3Cb%3E']) {
    t.equal((await app.inject(`/api/pulse/queues${bad}`)).statusCode, 400, bad)
  }
  const again = await app.inject({ url: '/api/pulse/queues', headers: { 'if-none-match': response.headers.etag as string } })
  t.equal(again.statusCode, 304, 'unchanged answer: 304')

  const jobs = await app.inject('/api/pulse/queues/billing/emails/jobs?state=failed')
  t.equal(jobs.statusCode, 200)
  t.same(jobs.json(), { service: 'billing', queue: 'emails', state: 'failed', source: 'snapshot', total: 7, jobs: [failedJob] })
  t.same((await app.inject('/api/pulse/queues/billing/emails/jobs')).json().jobs, [failedJob], 'failed is the default state')
  t.same((await app.inject('/api/pulse/queues/billing/reports/jobs?state=failed')).json(), { service: 'billing', queue: 'reports', state: 'failed', source: 'snapshot', total: null, jobs: [] })
  // every state answers; an agent that does not declare LIST_JOBS cannot be asked, and the page says so
  const waiting = await app.inject('/api/pulse/queues/billing/emails/jobs?state=waiting')
  t.equal(waiting.statusCode, 200)
  t.match(waiting.json(), { state: 'waiting', source: 'live', page: 1, jobs: [], total: null, error: /LIST_JOBS/ })
  t.equal((await app.inject('/api/pulse/queues/billing/emails/jobs?state=finished')).statusCode, 400, 'an unknown state')
  t.equal((await app.inject('/api/pulse/queues/billing/ghost/jobs?state=failed')).statusCode, 404)
  t.equal((await app.inject('/api/pulse/queues/billing/bad%0Aname/jobs')).statusCode, 400, 'a control character is no queue name')
})

t.test('throughput from successive snapshots; the history recorder and the alert rules read the part', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const snapshot = (completed: number, failed: number, waiting = 30) =>
    writeSnapshot(redis, 'billing', { timestamp: clock(), nodeId: 'w-1', queues: [{ name: 'emails', driver: 'bullmq', metrics: { waiting, failed, completed } }] })
  const emails = async () => (await app.inject('/api/pulse/queues')).json().queues[0]

  await snapshot(100, 10)
  await app.collector.refresh()
  t.notOk('throughput' in (await emails()), 'one reading: no rate yet')

  clock.advance(10_000)
  await snapshot(150, 15)
  await app.collector.refresh()
  t.equal((await emails()).throughput, 5.5, '(50 completed + 5 failed) / 10 s')

  clock.advance(2_000)
  await app.collector.refresh()
  t.equal((await emails()).throughput, 5.5, 'the same snapshot read again keeps its rate')

  clock.advance(8_000)
  await snapshot(20, 15)
  await app.collector.refresh()
  t.notOk('throughput' in (await emails()), 'completed went down (a reset): no rate for that interval')

  clock.advance(10_000)
  await snapshot(40, 3, 1500)
  await app.collector.refresh()
  t.equal((await emails()).throughput, 2, 'failed going down (retried jobs) counts as no failures')

  const snapshotNow = app.collector.snapshot
  t.same(queueRows(snapshotNow), [{ kind: 'queue', service: 'billing', id: 'emails', t: clock(), values: [1500, 3, 2] }], 'history: waiting, failed, throughput per queue')
  t.same(queueItems(snapshotNow), [{ service: 'billing', name: 'emails', waiting: 1500, failed: 3 }], 'alerts: the queue metrics')
  const samples = metricsFromSnapshot(snapshotNow).samples.filter((s) => s.target.queue === 'emails')
  t.same(
    samples.map((s) => [s.metric, s.value]),
    [
      ['queue_backlog', 1500],
      ['queue_failed', 3],
    ],
  )

  const history = await app.inject('/api/pulse/queues/billing/emails/history?range=1h')
  t.equal(history.statusCode, 200)
  const points = history.json().points as { t: number; waiting: number; failed: number; throughput: number | null }[]
  t.same(points.at(-1), { t: clock(), waiting: 1500, failed: 3, throughput: 2 }, 'recorded into the queue history')
})

t.test("an agent's processed counter gives the rate when finished jobs are removed", async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const snapshot = (processed: number) =>
    writeSnapshot(redis, 'billing', { timestamp: clock(), nodeId: 'w-1', queues: [{ name: 'reports', driver: 'bullmq', metrics: { waiting: 0, failed: 0, completed: 0, processed } }] })
  const reports = async () => (await app.inject('/api/pulse/queues')).json().queues.find((q: { name: string }) => q.name === 'reports')
  await snapshot(1_000)
  await app.collector.refresh()
  clock.advance(10_000)
  await snapshot(1_030)
  await app.collector.refresh()
  t.match(await reports(), { completed: 0, processed: 1_030, throughput: 3 }, '30 finished in 10 s, none kept')
})

t.test('an entry with an error: its counts were not measured, so none are shown, recorded or alerted on', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  await writeSnapshot(redis, 'billing', {
    timestamp: clock(),
    nodeId: 'w-1',
    queues: [{ name: 'imports', driver: 'redis-list', metrics: { waiting: 0 }, error: 'WRONGTYPE Operation against a key holding the wrong kind of value (<img src=x onerror=alert(1)>)' }],
  })
  await app.collector.refresh()
  const [queue] = (await app.inject('/api/pulse/queues')).json().queues
  t.match(queue, { name: 'imports', waiting: null, active: null, delayed: null, failed: null, error: /^WRONGTYPE/ })
  t.same(queueItems(app.collector.snapshot), [{ service: 'billing', name: 'imports' }], 'no backlog sample from a filler zero')
  t.same(queueRows(app.collector.snapshot)[0]?.values, [null, null, null])
  const page = await app.inject('/queues')
  t.match(page.body, /<td class="num">–<\/td>/)
  t.match(page.body, 'WRONGTYPE Operation against a key holding the wrong kind of value (&lt;img src=x onerror=alert(1)&gt;)', 'the error, escaped')
  t.notMatch(page.body, /<img src=x/)
  t.match((await app.inject('/queues/billing/imports')).body, 'The agent could not read this queue: WRONGTYPE')
})
