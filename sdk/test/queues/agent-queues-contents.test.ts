/**
 * monitorQueue on a real agent, what it writes: the queue names and errors in the heartbeat and
 * the queue snapshot, both within the value limit with many failing queues, input checked at call
 * time, and the probe it registers.
 */
import t from 'tap'
import { Queue } from 'bullmq'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { MAX_VALUE_BYTES, readHeartbeat } from '../../src/protocol/index.js'
import { QuasarAgent } from '../../src/index.js'
import { connectionOf } from './fixtures.js'
import { connected, transportReaders } from './agent-transport.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server: transportServer, redis: transport } = await useRedis(t)
const { snapshotOf, beatOf } = transportReaders(transport)

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
