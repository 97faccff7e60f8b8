/**
 * Agents on a real 3-master Redis Cluster (Redis and Valkey), opened with `cluster: true` from a
 * seed URL: many nodes of several services beat (node key, index entry and queue snapshot sit on
 * different masters, which one pipeline could not write), real BullMQ queues under the `{bull}`
 * prefix in many states are counted as BullMQ counts them, slow records land in their stream, and
 * a Cluster the application owns is used and left open.
 */
import t, { type Test } from 'tap'
import calculateSlot from 'cluster-key-slot'
import { Queue, Worker } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'
import { ENGINES } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { shuffled } from '../../../test/helpers/shuffle.js'
import { QuasarAgent, startPulse } from '../../src/index.js'
import { laravelWriter, payload, phpException } from '../queues/laravel-writer.js'
import { appCluster, heartbeatOf, mastersOf, PREFIX, snapshotOf, useCluster } from './cluster-fixtures.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const SERVICES = ['billing', 'mailer', 'search']
const NODES_PER_SERVICE = 6

for (const engine of ENGINES) {
  t.test(engine, async (t) => {
    const { cluster, admin } = await useCluster(t, engine)

    t.test('many nodes of several services beat through one seed URL', async (t) => {
      const agents = SERVICES.flatMap((service) => Array.from({ length: NODES_PER_SERVICE }, (_, n) => ({ service, nodeId: `${service}-${n}` })))
      const errors: unknown[] = []
      const started = agents.map(({ service, nodeId }) => {
        const agent = new QuasarAgent({ service, nodeId, url: cluster.url, cluster: true, intervalMs: 60_000, onError: (error) => void errors.push(error) })
        t.teardown(() => agent.stop())
        return agent
      })
      // a Cluster client connects to each master on its first command there: the first beats of
      // 18 agents opening 54 connections at once on a loaded machine may time out, as they should
      await Promise.all(started.map((agent) => eventually(() => agent.beat(), `${agent.nodeId} beats once connected`, 30_000, 200)))
      errors.length = 0
      const warmUp = started.map((agent) => agent.beatCounts.written)
      // beats in several orders, all at once: each one is three slots' writes
      for (const order of [1, 2, 3])
        t.same(
          await Promise.all(shuffled(started, order).map((agent) => agent.beat())),
          started.map(() => true),
          `round ${order}: every beat written`,
        )
      t.same(errors, [], 'nothing reported')
      for (const { service, nodeId } of agents) t.match(await heartbeatOf(admin, service, nodeId), { service, id: nodeId }, `${service}/${nodeId}`)
      for (const service of SERVICES) {
        const indexed = await admin.zrange(`${PREFIX}index:nodes:${service}`, 0, -1)
        t.same(
          indexed.sort(),
          agents
            .filter((agent) => agent.service === service)
            .map((agent) => agent.nodeId)
            .sort(),
          `${service}'s index lists its nodes`,
        )
      }
      const written = agents.flatMap(({ service, nodeId }) => [`${PREFIX}node:${service}:${nodeId}`, `${PREFIX}index:nodes:${service}`])
      t.equal(mastersOf(admin, written).size, 3, 'the beats landed on every master')
      t.same(
        started.map((agent, n) => agent.beatCounts.written - warmUp[n]!),
        started.map(() => 3),
        'three beats counted written by each agent',
      )
    })

    t.test('real BullMQ queues under {bull} in many states: the snapshot counts what BullMQ counts', async (t) => {
      const connection = appCluster(t, cluster)
      const names = ['emails', 'invoices', 'reports', 'thumbnails', 'webhooks']
      const queues = await Promise.all(names.map((name, i) => fillQueue(t, connection, name, i)))
      const errors: unknown[] = []
      const agent = startPulse({ service: 'workers', nodeId: 'w1', url: cluster.url, cluster: true, app: connection, intervalMs: 60_000, onError: (error) => void errors.push(error) })
      t.teardown(() => agent.stop())
      for (const name of shuffled(names, 7)) agent.monitorQueue(name, 'bullmq', { prefix: '{bull}' })
      await eventually(() => agent.beat(), 'a beat written', 30_000, 200)
      t.same(
        errors.filter((error) => !/timed out/.test(String(error))),
        [],
        'nothing reported but a first connection slower than the command timeout',
      )
      const snapshot = await snapshotOf(admin, 'workers')
      for (const queue of queues) {
        const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed', 'prioritized')
        const isPaused = await queue.isPaused()
        const entry = snapshot.queues.find((q) => q.name === queue.name)
        // BullMQ 5 keeps a paused queue's jobs in `wait`
        const held = counts.wait! + counts.prioritized!
        t.match(
          entry,
          {
            prefix: '{bull}',
            driver: 'bullmq',
            metrics: { waiting: isPaused ? 0 : held, paused: isPaused ? held : 0, isPaused, delayed: counts.delayed, failed: counts.failed, completed: counts.completed, active: counts.active },
          },
          queue.name,
        )
        t.equal(entry?.failedJobs?.length, counts.failed, `${queue.name}: its failed jobs, each read from its hash`)
        t.ok(entry?.failedJobs?.every((job) => /^boom /.test(job.failedReason ?? '')))
      }
      const beat = await heartbeatOf(admin, 'workers', 'w1')
      t.same(beat?.queues?.map((q) => q.name).sort(), [...names].sort(), 'the heartbeat names every queue')
      t.equal(mastersOf(admin, [`${PREFIX}node:workers:w1`, `${PREFIX}index:nodes:workers`, `${PREFIX}queues:workers`]).size > 1, true, 'node, index and snapshot span masters')
    })

    t.test('a Laravel queue {emails} with Horizon under {jobs}: one probe reads both slots', async (t) => {
      const writer = laravelWriter(admin as unknown as Redis, { horizonPrefix: '{jobs}:' })
      const nowMs = Date.now()
      const jobs = Array.from({ length: 9 }, (_, n) => payload(`App\\Jobs\\Send${n}`, nowMs - 1000 * (9 - n)))
      for (const job of jobs.slice(0, 5)) await writer.push('{emails}', job)
      for (const job of jobs.slice(5, 7)) await writer.later('{emails}', Math.floor(nowMs / 1000) + 3600, job)
      await writer.pop('{emails}', Math.floor(nowMs / 1000) + 90)
      for (const job of jobs.slice(7)) await writer.fail('{emails}', job, phpException(`failed ${job.id}`), nowMs)
      t.ok(mastersOf(admin, [writer.queueKey('{emails}'), writer.horizonKey('failed_jobs')]).size === 2, 'queue and Horizon keys on two masters')
      const errors: unknown[] = []
      const agent = startPulse({ service: 'laravel-app', nodeId: 'l1', url: cluster.url, cluster: true, intervalMs: 60_000, onError: (error) => void errors.push(error) })
      t.teardown(() => agent.stop())
      agent.monitorQueue('{emails}', 'laravel', { horizonPrefix: '{jobs}:' })
      await eventually(() => agent.beat(), 'a beat written', 30_000, 200)
      const [entry] = (await snapshotOf(admin, 'laravel-app')).queues
      t.same(entry?.error, undefined, 'no error')
      t.match(entry?.metrics, { waiting: 4, active: 1, delayed: 2, failed: 2 })
      t.same(
        entry?.failedJobs?.map((job) => job.id).sort(),
        jobs
          .slice(7)
          .map((job) => job.id)
          .sort(),
      )
    })

    t.test('slow records from many nodes land in the service stream', async (t) => {
      const agents = ['s1', 's2', 's3'].map((nodeId) => {
        const agent = startPulse({ service: 'slowpoke', nodeId, url: cluster.url, cluster: true, intervalMs: 60_000 })
        t.teardown(() => agent.stop())
        return agent
      })
      await eventually(() => agents.every((agent) => agent.transport.status === 'ready'), 'connected')
      for (const [n, agent] of agents.entries()) {
        for (let i = 0; i < 40; i++) t.equal(agent.recordSlow({ kind: i % 2 ? 'job' : 'request', name: `${agent.nodeId}-${i}`, durationMs: 100 + i * (n + 1) }), true)
      }
      await Promise.all(agents.map((agent) => agent.flushSlow()))
      const entries = await admin.xrange(`${PREFIX}slow:slowpoke`, '-', '+')
      const names = entries.map(([, fields]) => fields[fields.indexOf('name') + 1]).sort()
      t.same(names, agents.flatMap((agent) => Array.from({ length: 40 }, (_, i) => `${agent.nodeId}-${i}`)).sort(), 'every record once')
    })

    t.test('a Cluster the application owns: used for beats, and still open after the agent stops', async (t) => {
      const owned = appCluster(t, cluster)
      await owned.ping()
      const agent = startPulse({ service: 'owned', nodeId: 'o1', redis: owned, intervalMs: 60_000 })
      t.equal(await agent.beat(), true)
      t.ok(await heartbeatOf(admin, 'owned', 'o1'))
      await agent.stop()
      t.equal(owned.status, 'ready', 'not closed by the agent')
      t.equal(await owned.ping(), 'PONG')
    })

    t.test('with one master away, only its slots fail: the beat is reported, and written again once it is back', async (t) => {
      const errors: unknown[] = []
      const agent = new QuasarAgent({ service: 'degraded', nodeId: 'd1', url: cluster.url, cluster: true, intervalMs: 60_000, onError: (error) => void errors.push(error) })
      t.teardown(() => agent.stop())
      await eventually(() => agent.transport.status === 'ready', 'connected')
      t.equal(await agent.beat(), true)
      const nodeKey = `${PREFIX}node:degraded:d1`
      const holder = cluster.servers.findIndex((server) => String(server.port) === admin.slots[calculateSlot(nodeKey)]![0]!.split(':')[1])
      await cluster.servers[holder]!.kill()
      t.equal(await agent.beat(), false, 'a beat whose node key is on the lost master is not written')
      t.ok(errors.length > 0, 'and the failure is reported')
      await cluster.servers[holder]!.restart()
      await eventually(() => agent.beat(), 'beats are written again', 30_000, 300)
      t.ok(await heartbeatOf(admin, 'degraded', 'd1'))
    })
  })
}

t.test('no unhandled rejection', async (t) => {
  t.same(unhandled, [])
})

/** Queue `i` of a test: failed and completed jobs, then waiting, delayed and prioritized ones; queue 1 paused. */
async function fillQueue(t: Test, connection: Cluster, name: string, i: number): Promise<Queue> {
  const queue = new Queue(name, { connection, prefix: '{bull}' })
  t.teardown(() => queue.close())
  const failing = i + 1
  const completing = 2 * i + 1
  for (let n = 0; n < failing; n++) await queue.add('fails', { n, fail: true }, { attempts: 1 })
  for (let n = 0; n < completing; n++) await queue.add('completes', { n, fail: false })
  const worker = new Worker(
    name,
    async (job) => {
      if (job.data.fail) throw new Error(`boom ${job.id}`)
      return job.data.n
    },
    { connection, prefix: '{bull}', concurrency: 4 },
  )
  worker.on('error', () => {})
  await eventually(async () => (await queue.getFailedCount()) === failing && (await queue.getCompletedCount()) === completing, `${name}: jobs finished`, 60_000)
  await worker.close()
  for (let n = 0; n < i; n++) await queue.add('waits', { n })
  for (let n = 0; n < 3; n++) await queue.add('later', { n }, { delay: 3_600_000 })
  for (let n = 0; n < i % 3; n++) await queue.add('urgent', { n }, { priority: n + 1 })
  if (i === 1) await queue.pause()
  return queue
}
