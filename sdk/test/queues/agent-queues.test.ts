/**
 * monitorQueue on a real agent: what lands in the heartbeat and the queue snapshot, dual
 * connections (queues in one Redis, heartbeats in another), input checked at call time, and an
 * app Redis that is slow, broken or gone never stopping a beat.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { startRedis, useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { heartbeatSchema, MAX_VALUE_BYTES, readHeartbeat, readQueueSnapshot, type ReadQueueSnapshot } from '../../src/protocol/index.js'
import { QuasarAgent, startPulse } from '../../src/index.js'
import { connectionOf, failJobs } from './fixtures.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server: transportServer, redis: transport } = await useRedis(t)

async function snapshotOf(service: string): Promise<ReadQueueSnapshot> {
  const raw = await transport.get(`gravito:quasar:queues:${service}`)
  if (raw === null) throw new Error('no snapshot')
  const read = readQueueSnapshot(JSON.parse(raw))
  if (!read.ok) throw new Error(read.error)
  if (read.skippedTotal > 0) throw new Error(`skipped: ${JSON.stringify(read.skipped)}`)
  return read.value
}

/** A new agent's first beat waits for its transport connection, as start() does with 'ready'. */
async function connected(agent: QuasarAgent): Promise<QuasarAgent> {
  await eventually(() => agent.transport.status === 'ready', 'transport connected')
  return agent
}

async function beatOf(service: string, nodeId: string) {
  const raw = await transport.get(`gravito:quasar:node:${service}:${nodeId}`)
  return raw === null ? null : JSON.parse(raw)
}

t.test('dual connections: queues read from the app Redis, heartbeat and snapshot written to the transport', async (t) => {
  const { server: appServer, redis: app } = await useRedis(t)
  const queue = new Queue('emails', { connection: connectionOf(appServer.url) })
  t.teardown(() => queue.close())
  const [failed] = await failJobs(queue, [{ name: 'send', data: { to: 'x@example.com' } }])
  await queue.add('send', {})
  await app.rpush('jobs:import', 'a', 'b', 'c')

  const agent = new QuasarAgent({ service: 'billing', nodeId: 'w1', url: transportServer.url, app: appServer.url, intervalMs: 60_000 })
  t.teardown(() => agent.stop())
  t.equal(agent.monitorQueue('emails', 'bullmq').monitorQueue('imports', 'redis-list', { key: 'jobs:import' }), agent, 'chainable')
  await connected(agent)
  t.equal(await agent.beat(), true)

  const snapshot = await snapshotOf('billing')
  t.equal(snapshot.service, 'billing')
  t.equal(snapshot.nodeId, 'w1')
  t.ok(snapshot.timestamp > 0)
  const [emails, imports] = snapshot.queues
  t.match(emails, { name: 'emails', prefix: 'bull', driver: 'bullmq', metrics: { waiting: 1, failed: 1, active: 0 } })
  t.notOk('sharedRedis' in snapshot, 'queues in another Redis than the snapshot: not said to be shared')
  t.equal(emails!.failedJobs![0]!.id, failed!.id)
  t.same(imports, { name: 'imports', driver: 'redis-list', metrics: { waiting: 3, active: null }, commands: [] }, 'no token: no commands declared')
  const ttl = await transport.ttl('gravito:quasar:queues:billing')
  t.ok(ttl > 25 && ttl <= 30, `snapshot expires in about 30 s (${ttl})`)

  const beat = await beatOf('billing', 'w1')
  t.ok(heartbeatSchema.safeParse(beat).success, 'the heartbeat with queues still matches the protocol')
  t.same(beat.queues, [
    { name: 'emails', driver: 'bullmq', metrics: emails!.metrics },
    { name: 'imports', driver: 'redis-list', metrics: { waiting: 3, active: null } },
  ])

  t.same(await app.keys('gravito:*'), [], 'nothing of ours in the app Redis')
  t.same(await transport.keys('bull:*'), [], 'no queue keys in the transport Redis')
})

t.test('the app connection may be an ioredis instance the caller owns; it is left open', async (t) => {
  const { redis: app } = await useRedis(t)
  await app.rpush('work', 'x')
  const agent = startPulse({ service: 'own-app', nodeId: 'n1', url: transportServer.url, app, intervalMs: 60_000 }).monitorQueue('work', 'redis-list')
  t.equal(agent.appRedis, app)
  await eventually(async () => (await snapshotOf('own-app')).queues[0]?.metrics.waiting === 1, 'snapshot from the given connection')
  await agent.stop()
  t.equal(await app.ping(), 'PONG', 'still open after stop')
})

t.test('without an app option the queues are read from the transport', async (t) => {
  await transport.rpush('same-redis', '1', '2')
  const agent = new QuasarAgent({ service: 'single', nodeId: 'n1', url: transportServer.url, intervalMs: 60_000 })
  t.teardown(() => agent.stop())
  agent.monitorQueue('same-redis', 'redis-list')
  await connected(agent)
  t.equal(await agent.beat(), true)
  t.equal((await snapshotOf('single')).queues[0]!.metrics.waiting, 2)
  t.equal((await snapshotOf('single')).sharedRedis, true, 'the queues live where the snapshot is written')
})

t.test('queue names as the queue system allows them, reported exactly with their prefix', async (t) => {
  const connection = connectionOf(transportServer.url)
  const names = [
    ['send email', '{bull}'],
    ['correo-électronique', 'app:bull'],
    [`emails@v2-${'x'.repeat(80)}`, 'bull'],
  ] as const
  const agent = new QuasarAgent({ service: 'names', nodeId: 'n1', url: transportServer.url, intervalMs: 60_000 })
  t.teardown(() => agent.stop())
  for (const [name, prefix] of names) {
    const queue = new Queue(name, { connection, prefix })
    t.teardown(() => queue.close())
    await queue.add('job', {})
    agent.monitorQueue(name, 'bullmq', { prefix })
  }
  agent.monitorQueue('a:b', 'laravel', { prefix: 'app_' })
  await connected(agent)
  t.equal(await agent.beat(), true)
  const snapshot = await snapshotOf('names')
  t.same(
    snapshot.queues.map((q) => [q.name, q.prefix, q.metrics.waiting]),
    [...names.map(([name, prefix]) => [name, prefix, 1]), ['a:b', 'app_', 0]],
  )
  t.same(
    (await beatOf('names', 'n1')).queues.map((q: { name: string }) => q.name),
    [...names.map(([name]) => name), 'a:b'],
    'the heartbeat names them too',
  )
})

t.test('a key of the wrong type is an error in that entry only; the beat is written', async (t) => {
  await transport.set('bull:typo:wait', 'a string')
  await transport.hset('not-a-list', 'a', '1')
  await transport.rpush('fine', 'x')
  const errors: unknown[] = []
  const agent = new QuasarAgent({ service: 'typed', nodeId: 'n1', url: transportServer.url, intervalMs: 60_000, onError: (error) => errors.push(error) })
  t.teardown(() => agent.stop())
  agent.monitorQueue('typo', 'bullmq').monitorQueue('hash', 'redis-list', { key: 'not-a-list' }).monitorQueue('fine', 'redis-list')
  await connected(agent)
  t.equal(await agent.beat(), true)
  const [typo, hash, fine] = (await snapshotOf('typed')).queues
  t.match(typo, { name: 'typo', error: /WRONGTYPE.*bull:typo:wait/, metrics: { waiting: 0 } })
  t.equal(typo!.failedJobs, undefined)
  t.match(hash, { name: 'hash', error: /WRONGTYPE.*not-a-list/ })
  t.same(fine, { name: 'fine', driver: 'redis-list', metrics: { waiting: 1, active: null }, commands: [] })
  t.match((await beatOf('typed', 'n1')).queues[0], { name: 'typo', error: /WRONGTYPE/ })
  t.equal(errors.length, 2, 'each failing probe reported to onError')
  t.match(String(errors[0]), /queue typo \(bullmq\): WRONGTYPE/)
})

t.test('app Redis killed: beats go on with error entries, and recover when it returns', async (t) => {
  const appServer = await startRedis()
  t.teardown(() => appServer.stop())
  const app = new Redis(appServer.url)
  app.on('error', () => {})
  t.teardown(() => app.disconnect())
  await app.rpush('q', 'a')
  const errors: unknown[] = []
  const agent = new QuasarAgent({ service: 'outage', nodeId: 'n1', url: transportServer.url, app: appServer.url, intervalMs: 60_000, onError: (error) => errors.push(error) })
  t.teardown(() => agent.stop())
  agent.monitorQueue('q', 'redis-list')
  await connected(agent)
  t.equal(await agent.beat(), true)
  t.equal((await snapshotOf('outage')).queues[0]!.metrics.waiting, 1)

  await appServer.kill()
  await eventually(() => agent.appRedis.status !== 'ready', 'the agent noticed the outage')
  for (let n = 0; n < 3; n++) t.equal(await agent.beat(), true, `beat ${n + 1} written while the app Redis is down`)
  const down = (await snapshotOf('outage')).queues[0]!
  t.match(down.error, /app Redis not ready|Connection is closed|Stream isn't writeable/)
  t.match((await beatOf('outage', 'n1')).queues[0], { name: 'q', error: String })
  t.ok(errors.length >= 3, 'the outage is reported')

  await appServer.restart()
  await eventually(async () => {
    await agent.beat()
    const entry = (await snapshotOf('outage')).queues[0]!
    return entry.error === undefined && entry.metrics.waiting === 0
  }, 'entries clear once the app Redis is back (empty, it was killed without saving)')
  t.pass('recovered')
})

t.test('a slow app Redis: the probe times out, the beat is written, the probe is not stacked', async (t) => {
  const appServer = await startRedis()
  t.teardown(() => appServer.stop())
  // the caller's own connection, without a command timeout, so only the probe timeout can end the wait
  const app = new Redis(appServer.url)
  t.teardown(() => app.disconnect())
  const admin = new Redis(appServer.url)
  t.teardown(() => admin.disconnect())
  await app.rpush('slow', 'a')
  const agent = new QuasarAgent({ service: 'slowapp', nodeId: 'n1', url: transportServer.url, app, intervalMs: 60_000 })
  t.teardown(() => agent.stop())
  agent.monitorQueue('slow', 'redis-list')
  await connected(agent)
  t.equal(await agent.beat(), true)

  await admin.client('PAUSE', 6000, 'ALL')
  t.equal(await agent.beat(), true, 'the beat is written')
  t.match((await snapshotOf('slowapp')).queues[0], { error: /probe timed out after 2000 ms/ })
  t.equal(await agent.beat(), true)
  t.match((await snapshotOf('slowapp')).queues[0], { error: 'previous probe still running (app Redis slow)' }, 'a hung probe is not started twice')
  // the pause ends by itself (an UNPAUSE would wait behind it)
  await eventually(async () => {
    await agent.beat()
    return (await snapshotOf('slowapp')).queues[0]!.error === undefined
  }, 'probes resume')
  t.pass('resumed')
})

t.test('the transport down drops the beat and the snapshot together, without a throw', async (t) => {
  const own = await startRedis()
  const errors: unknown[] = []
  const agent = new QuasarAgent({ service: 'gone', nodeId: 'n1', url: own.url, intervalMs: 60_000, onError: (error) => errors.push(error) })
  t.teardown(() => agent.stop())
  agent.monitorQueue('q', 'redis-list')
  await connected(agent)
  t.equal(await agent.beat(), true)
  await own.stop()
  await eventually(() => agent.transport.status !== 'ready', 'disconnected')
  t.equal(await agent.beat(), false)
  t.ok(errors.length > 0)
})

t.test('a hundred queues all failing with long errors: heartbeat and snapshot still fit and read', async (t) => {
  const agent = new QuasarAgent({ service: 'hundred', nodeId: 'n1', url: transportServer.url, intervalMs: 60_000 })
  t.teardown(() => agent.stop())
  const pipeline = transport.pipeline()
  for (let n = 0; n < 100; n++) {
    const key = `${'k'.repeat(1000)}:${n}`
    pipeline.set(key, 'not a list')
    agent.monitorQueue(`queue-${'q'.repeat(50)}-${n}`, 'redis-list', { key })
  }
  await pipeline.exec()
  await connected(agent)
  t.equal(await agent.beat(), true)
  const rawBeat = (await transport.get('gravito:quasar:node:hundred:n1'))!
  const rawSnapshot = (await transport.get('gravito:quasar:queues:hundred'))!
  t.ok(Buffer.byteLength(rawBeat) <= MAX_VALUE_BYTES, `heartbeat ${Buffer.byteLength(rawBeat)} bytes`)
  t.ok(Buffer.byteLength(rawSnapshot) <= MAX_VALUE_BYTES, `snapshot ${Buffer.byteLength(rawSnapshot)} bytes`)
  const beat = readHeartbeat(JSON.parse(rawBeat))
  t.ok(beat.ok && beat.skipped.length === 0 && beat.value.queues?.length === 100, 'every queue in the heartbeat')
  const snapshot = await snapshotOf('hundred')
  t.equal(snapshot.queues.length, 100)
  t.ok(
    snapshot.queues.every((queue) => /^WRONGTYPE/.test(queue.error ?? '')),
    'each with its error',
  )
})

t.test('input is checked when monitorQueue is called: TypeError for a programming error', async (t) => {
  const agent = new QuasarAgent({ service: 'checks', url: 'redis://127.0.0.1:1' })
  t.teardown(() => agent.stop())
  const bad: [string, unknown, unknown, RegExp][] = [
    ['', 'bullmq', undefined, /queue name/],
    ['line\nbreak', 'bullmq', undefined, /queue name/],
    ['x'.repeat(257), 'bullmq', undefined, /queue name/],
    ['ok', 'sqs', undefined, /driver must be one of bullmq, laravel, redis-list/],
    ['ok', undefined, undefined, /driver/],
    ['ok', 'bullmq', 'bull', /options must be an object/],
    ['ok', 'bullmq', { key: 'x' }, /"key" does not apply to the bullmq driver/],
    ['ok', 'redis-list', { prefix: 'x' }, /"prefix" does not apply to the redis-list driver/],
    ['ok', 'bullmq', { prefix: '' }, /prefix must be a string of 1/],
    ['ok', 'laravel', { horizonPrefix: 7 }, /horizonPrefix/],
    ['ok', 'redis-list', { key: '' }, /key must be/],
    ['ok', 'bullmq', { failedPageSize: 51 }, /failedPageSize must be an integer from 0 to 50/],
    ['ok', 'bullmq', { failedPageSize: 1.5 }, /failedPageSize/],
    ['ok', 'laravel', { failedPageSize: -1 }, /failedPageSize/],
  ]
  for (const [name, driver, options, message] of bad) {
    t.throws(() => agent.monitorQueue(name, driver as never, options as never), { name: 'TypeError', message }, `${name} / ${String(driver)}`)
  }
  t.equal(agent.queueProbe('ok'), undefined, 'nothing was registered by a refused call')
  agent.monitorQueue('ok', 'laravel', { prefix: '', horizonPrefix: 'app_horizon:', failedPageSize: 0 })
  t.throws(() => agent.monitorQueue('ok', 'bullmq'), { name: 'TypeError', message: /already monitored/ })
  for (let n = 1; n < 100; n++) agent.monitorQueue(`q${n}`, 'redis-list')
  t.throws(() => agent.monitorQueue('one-too-many', 'redis-list'), { name: 'TypeError', message: /at most 100/ })
})

t.test('queueProbe gives the registered probe, with retry and delete where the driver has them', async (t) => {
  const agent = new QuasarAgent({ service: 'probes', url: 'redis://127.0.0.1:1' })
  t.teardown(() => agent.stop())
  t.equal(agent.queueProbe('emails'), undefined)
  agent.monitorQueue('emails', 'bullmq').monitorQueue('mail', 'laravel').monitorQueue('list', 'redis-list')
  t.match(agent.queueProbe('emails'), { name: 'emails', driver: 'bullmq', retryJob: Function, deleteJob: Function })
  t.match(agent.queueProbe('mail'), { name: 'mail', driver: 'laravel', retryJob: Function, deleteJob: Function })
  const list = agent.queueProbe('list')!
  t.equal(list.driver, 'redis-list')
  t.equal(list.retryJob, undefined)
  t.equal(list.deleteJob, undefined)
})

t.test('an agent without monitored queues writes no snapshot and no queues field', async (t) => {
  const agent = await connected(new QuasarAgent({ service: 'noqueues', nodeId: 'n1', url: transportServer.url, intervalMs: 60_000 }))
  t.teardown(() => agent.stop())
  t.equal(await agent.beat(), true)
  t.equal(await transport.exists('gravito:quasar:queues:noqueues'), 0)
  t.equal((await beatOf('noqueues', 'n1')).queues, undefined)
  const read = readHeartbeat(await beatOf('noqueues', 'n1'))
  t.ok(read.ok)
})

t.test('no unhandled rejection in any test above', async (t) => {
  t.same(unhandled, [])
})
