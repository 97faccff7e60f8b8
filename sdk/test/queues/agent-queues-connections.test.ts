/**
 * monitorQueue on a real agent, its connections: queues in one Redis and heartbeats in another,
 * or both in the transport, and an app Redis that is slow or gone, or a transport that is down,
 * never stopping a beat or throwing.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { startRedis, useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { heartbeatSchema } from '../../src/protocol/index.js'
import { QuasarAgent, startPulse } from '../../src/index.js'
import { connectionOf, failJobs } from './fixtures.js'
import { connected, transportReaders } from './agent-transport.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server: transportServer, redis: transport } = await useRedis(t)
const { snapshotOf, beatOf } = transportReaders(transport)

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

t.test('no unhandled rejection in any test above', async (t) => {
  t.same(unhandled, [])
})
