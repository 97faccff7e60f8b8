/**
 * /metrics over a real fleet on a real Redis: heartbeats of many nodes in six services, fresh,
 * stale and dead in seeded amounts; an SDK agent beating and reporting a BullMQ queue; real BullMQ
 * queues in every state found with no agent; an alert rule firing for the hot nodes. The output is
 * read with a strict parser of the text format and checked against what was written, what BullMQ
 * counts, and the console's own snapshot. Then many scrapes, and not one Redis command.
 */
import t from 'tap'
import { Queue, Worker } from 'bullmq'
import { startPulse } from '@gravito/quasar'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { buildFleet, planFleet } from '../queues/bullmq-fleet.js'
import { dropBeats, rulesDir, tick, writeBeats, type BeatSpec } from '../alerts/fixtures.js'
import { queueRecordsOf } from '../../server/queues/records.js'
import { alertsOf } from '../../server/alerts/collector-part.js'
import { parseExposition, samplesOf, valueOf, type Family } from './exposition.js'

const { server, redis } = await useRedis(t)
const files = rulesDir()
t.teardown(() => files.remove())

const SERVICES = ['api', 'billing', 'checkout', 'mailer', 'search', 'worker-7']
const HEALTHS = ['fresh', 'stale', 'dead'] as const
type Health = (typeof HEALTHS)[number]

/** each service gets 0 to 6 nodes of each health, from the seed, written in a shuffled order */
function planNodes(seed: number) {
  const random = seededRandom(seed)
  const nodes: (BeatSpec & { health: Health })[] = []
  for (const service of SERVICES) {
    for (const health of HEALTHS) {
      const count = Math.floor(random() * 7)
      for (let i = 0; i < count; i++) nodes.push({ service, nodeId: `${health}-${i}`, health, cpu: service === 'checkout' ? 97 : 20 })
    }
  }
  // at least one hot node that stays, so the alert fires whatever the seed
  nodes.push({ service: 'checkout', nodeId: 'hot-always', health: 'fresh', cpu: 97 })
  return shuffled(nodes, random)
}

async function scrape(app: Awaited<ReturnType<typeof buildTestApp>>): Promise<Map<string, Family>> {
  const response = await app.inject({ url: '/metrics' })
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}: ${response.body}`)
  return parseExposition(response.body)
}

async function commandStats(): Promise<Map<string, number>> {
  const info = await redis.info('commandstats')
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((match) => [match[1]!, Number(match[2])]))
}

for (const seed of [3, 11]) {
  t.test(`seed ${seed}: nodes, queues, alerts and parts as the snapshot holds them; scrapes cost no Redis command`, async (t) => {
    await redis.flushall()
    const clock = fakeClock(Date.now())
    const alertsFile = files.write(`rules-${seed}.json`, { rules: [{ name: 'cpu-hot', metric: 'cpu', above: 90, for: 0 }] })
    const app = await buildTestApp({ redisUrl: server.url, clock, alertsFile })
    t.teardown(() => app.close())

    const plans = planFleet(seed, 8)
    const fleet = await buildFleet(seed, plans, { url: server.url }, clock() - 600_000)
    t.teardown(() => fleet.close())
    // a queue that finishes 6 jobs between the two ticks: a throughput the test knows
    const busy = new Queue(`busy-${seed}`, { connection: { url: server.url } })
    t.teardown(() => busy.close())
    const worker = new Worker(busy.name, async () => 'done', { connection: { url: server.url } })
    t.teardown(() => worker.close())
    let completed = 0
    const waiting = new Map<number, () => void>()
    worker.on('completed', () => waiting.get(++completed)?.())
    const completedCount = (n: number) => new Promise<void>((resolve) => waiting.set(n, resolve))
    const first = completedCount(1)
    await busy.add('first', {})
    await first
    // a queue only the agent reports (the console finds it too, and shows it once, as the agent's)
    const agentQueue = new Queue(`agent-q-${seed}`, { connection: { url: server.url } })
    t.teardown(() => agentQueue.close())
    await agentQueue.addBulk(Array.from({ length: 3 }, (_, n) => ({ name: `wait-${n}`, data: { n } })))

    const agent = startPulse({ service: 'agent-svc', nodeId: 'sdk-1', url: server.url, intervalMs: 200 }).monitorQueue(agentQueue.name, 'bullmq')
    t.teardown(() => agent.stop())

    // the console finds a service's node index by SCAN, at most once per 10 s of its clock: the
    // agent's keys are there before the first tick, which is where the clock stays until 20 s on
    await eventually(async () => (await redis.exists('gravito:quasar:node:agent-svc:sdk-1', 'gravito:quasar:queues:agent-svc')) === 2, 'the agent has beaten')
    clock.set(Date.now())
    const nodes = planNodes(seed)
    await writeBeats(redis, clock(), nodes)
    await eventually(async () => {
      await tick(app)
      const records = queueRecordsOf(app.collector.snapshot)
      const has = (service: string, name: string) => records.some((record) => record.service === service && record.name === name)
      return has('agent-svc', agentQueue.name) && [...plans.map((plan) => plan.name), busy.name].every((name) => has('bull', name)) && app.collector.snapshot.nodes.some((node) => node.service === 'agent-svc')
    }, 'the agent, its queue and every BullMQ queue reach the console')

    // 20 s later: fresh nodes beat again, stale ones did not, dead ones' keys are gone
    clock.advance(20_000)
    await writeBeats(
      redis,
      clock(),
      nodes.filter((node) => node.health === 'fresh'),
    )
    await dropBeats(
      redis,
      nodes.filter((node) => node.health === 'dead'),
    )
    const six = completedCount(7)
    await busy.addBulk(Array.from({ length: 6 }, (_, n) => ({ name: `job-${n}`, data: { n } })))
    await six
    await tick(app)
    // the alert written on that tick is read back on the next
    await tick(app)
    clock.advance(1_500)
    const snapshot = app.collector.snapshot
    const families = await scrape(app)

    t.test('nodes by service and health, every health of every service', async (t) => {
      for (const service of SERVICES) {
        for (const health of HEALTHS) {
          const expected = nodes.filter((node) => node.service === service && node.health === health).length
          const anyNode = nodes.some((node) => node.service === service)
          t.equal(valueOf(families, 'zenith_nodes', { service, health }), anyNode ? expected : undefined, `${service} ${health}`)
        }
      }
      const total = samplesOf(families, 'zenith_nodes').reduce((sum, sample) => sum + sample.value, 0)
      t.equal(total, snapshot.nodes.length, 'every node of the snapshot counted once')
      t.notOk(
        samplesOf(families, 'zenith_nodes').some((sample) => 'node' in sample.labels || 'nodeId' in sample.labels),
        'no node ids in labels',
      )
    })

    t.test('queue jobs, oldest wait, pause and throughput equal the snapshot; counts equal BullMQ', async (t) => {
      const records = queueRecordsOf(snapshot)
      t.ok(records.length >= plans.length + 1, 'every queue is in the snapshot')
      const states = { waiting: 'waiting', active: 'active', delayed: 'delayed', failed: 'failed', completed: 'completed', paused: 'paused', 'waiting-children': 'waitingChildren' } as const
      for (const record of records) {
        const labels = { service: record.service, queue: record.name }
        for (const [state, field] of Object.entries(states)) {
          const count = record[field]
          t.equal(valueOf(families, 'zenith_queue_jobs', { ...labels, state }), typeof count === 'number' ? count : undefined, `${record.service}/${record.name} ${state}`)
        }
        t.equal(valueOf(families, 'zenith_queue_up', labels), record.error === undefined ? 1 : 0)
        t.equal(valueOf(families, 'zenith_queue_oldest_wait_seconds', labels), record.oldestWaitingMs === undefined ? undefined : record.oldestWaitingMs / 1000)
        t.equal(valueOf(families, 'zenith_queue_throughput_per_second', labels), record.throughput)
        t.equal(valueOf(families, 'zenith_queue_paused', labels), record.isPaused === undefined ? undefined : record.isPaused ? 1 : 0)
        t.equal(valueOf(families, 'zenith_queue_processed_total', labels), record.processed)
      }
      for (const plan of plans) {
        const queue = new Queue(plan.name, { connection: { url: server.url } })
        const counts = await queue.getJobCounts('active', 'delayed', 'failed', 'completed')
        await queue.close()
        const labels = { service: 'bull', queue: plan.name }
        for (const state of ['active', 'delayed', 'failed', 'completed'] as const) {
          t.equal(valueOf(families, 'zenith_queue_jobs', { ...labels, state }), counts[state], `${plan.name} ${state} as BullMQ counts it`)
        }
        t.equal(valueOf(families, 'zenith_queue_paused', labels), plan.paused ? 1 : 0, `${plan.name} paused`)
      }
      t.equal(valueOf(families, 'zenith_queue_throughput_per_second', { service: 'bull', queue: busy.name }), 6 / 20, '6 jobs finished in 20 s of the console clock')
      t.ok(
        samplesOf(families, 'zenith_queue_oldest_wait_seconds').some((sample) => sample.value > 0),
        'queues with waiting jobs say how long the oldest waited',
      )
      t.equal(valueOf(families, 'zenith_queue_jobs', { service: 'agent-svc', queue: agentQueue.name, state: 'waiting' }), 3, "the agent's queue, under its service")
    })

    t.test('firing alerts are counted per rule, metric and service', async (t) => {
      const firing = alertsOf(snapshot).firing
      t.ok(
        firing.some((alert) => alert.service === 'checkout'),
        'the hot service fires',
      )
      for (const service of new Set(firing.map((alert) => alert.service))) {
        const count = firing.filter((alert) => alert.service === service && alert.rule === 'cpu-hot').length
        t.equal(valueOf(families, 'zenith_alerts_firing', { rule: 'cpu-hot', metric: 'cpu', service }), count, service)
      }
      t.equal(samplesOf(families, 'zenith_alerts_firing').length, new Set(firing.map((alert) => alert.service)).size, 'one series per rule, metric and service, not per node')
    })

    t.test('redis, snapshot age, collector parts, process', async (t) => {
      t.equal(valueOf(families, 'zenith_redis_up'), 1)
      t.equal(valueOf(families, 'zenith_snapshot_age_seconds'), 1.5, 'the fake clock moved 1.5 s since the tick')
      for (const part of ['nodes', 'queues', 'alerts', 'slow', 'commands']) {
        t.equal(valueOf(families, 'zenith_collector_part_up', { part }), 1, part)
        t.equal(valueOf(families, 'zenith_collector_part_failures_total', { part }), 0, part)
        t.equal(valueOf(families, 'zenith_collector_part_data_age_seconds', { part }), 0, part)
      }
      t.equal(valueOf(families, 'zenith_collector_ticks_total'), snapshot.version)
      t.equal(valueOf(families, 'zenith_collector_tick_duration_seconds_count'), snapshot.version)
      t.equal(families.get('zenith_collector_tick_duration_seconds')?.type, 'histogram')
      t.ok(valueOf(families, 'zenith_console_process_resident_memory_bytes')! > 0)
      t.ok(valueOf(families, 'zenith_console_nodejs_heap_size_used_bytes')! > 0)
      for (const family of families.values()) {
        t.ok(family.help.length > 0, `${family.name} has a HELP line`)
        t.not(family.type, 'untyped', `${family.name} has a TYPE line`)
      }
    })

    t.test('many scrapes send no Redis command', async (t) => {
      // the agent and the workers stop first: from here on only the console is connected
      await agent.stop()
      await worker.close()
      await fleet.close()
      await busy.close()
      await agentQueue.close()
      const before = await commandStats()
      for (let i = 0; i < 50; i++) {
        clock.advance(100)
        await scrape(app)
      }
      const after = await commandStats()
      const sent = [...after].filter(([command, calls]) => calls !== (before.get(command) ?? 0) + (command === 'info' ? 1 : 0))
      t.same(sent, [], 'no command but the INFO that read the counts')
    })
  })
}
