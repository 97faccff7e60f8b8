/**
 * The PHP and Python reference agents (examples/) run for real against a real Redis and a real
 * console: the console shows each node with the values its runtime measured, each queue of its job
 * store with counts and failed jobs, and its slow jobs.
 */
import t from 'tap'
import { totalmem, cpus } from 'node:os'
import { startRedis } from '../helpers/redis-server.js'
import { AGENT_KINDS } from './reference-agent.js'
import { get, plan, refreshUntil, runPlan, startAgentAndConsole } from './console-fixture.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

for (const [seed, kind] of AGENT_KINDS.entries()) {
  t.test(`${kind}: the console shows the node, its queues with failed jobs, and its slow jobs`, async (t) => {
    const service = `${kind}-shop`
    const { agent, app } = await startAgentAndConsole(t, redisServer.url, kind, service)
    const jobs = plan(seed)
    const ids = await runPlan(agent, jobs, 2)
    // the beat was written before the last jobs were enqueued: one more beat, running no job, counts them
    t.equal((await agent.once({ WORK_BATCH: '0' })).code, 0)

    await refreshUntil(app, async () => (await get(app, `/api/pulse/slow?service=${service}`)).entries.length === jobs.length, 'every job run in the slow log')

    const nodes = await get(app, '/api/pulse/nodes')
    const node = nodes.services.find((s: { name: string }) => s.name === service)?.nodes[0]
    t.ok(node, 'the node is listed')
    t.match(node, { id: `${kind}-node-1`, service, language: kind, health: 'fresh', protocol: 1, platform: 'linux', runtime: { framework: kind === 'php' ? /^php-redis / : /^redis-py / } })
    t.match(node.version, /^\d+\.\d+\.\d+/)
    t.ok(node.pid > 0)
    t.equal(node.cpu.cores, cpus().length, 'cores as the machine has them')
    for (const share of [node.cpu.system, node.cpu.process]) t.ok(share >= 0 && share <= 100, `cpu share ${share} is a percent of the whole machine`)
    t.equal(node.memory.system.total, totalmem(), 'machine memory from /proc/meminfo')
    t.equal(node.memory.system.used, node.memory.system.total - node.memory.system.free)
    t.ok(node.memory.process.rss > 1_000_000, 'a real resident set')
    if (kind === 'php') t.ok(node.memory.process.heapTotal >= node.memory.process.heapUsed && node.memory.process.heapUsed > 0, 'the Zend heap')
    else t.same([node.memory.process.heapTotal, node.memory.process.heapUsed], [0, 0], 'CPython has no managed heap: 0, as PROTOCOL.md says')
    t.ok(node.runtime.uptime >= 0 && node.runtime.uptime < 60, 'the process uptime, in seconds')
    t.ok(node.disk.total > node.disk.free && node.disk.free > 0)
    t.same(
      node.queues.map((q: { name: string }) => q.name),
      ['mail', 'reports'],
      'the heartbeat lists its queues',
    )

    const page = await app.inject(`/pulse/${service}/${kind}-node-1`)
    t.equal(page.statusCode, 200)
    t.match(page.body, node.version, 'the node page shows the runtime version')

    const { queues } = await get(app, `/api/pulse/queues?service=${service}`)
    t.equal(queues.length, 2)
    for (const queue of ['mail', 'reports']) {
      const planned = jobs.filter((job) => job.queue === queue)
      const failing = planned.filter((job) => job.failTimes > 0)
      const record = queues.find((q: { name: string }) => q.name === queue)
      t.match(record, { service, name: queue, driver: 'other', source: 'agent', nodeId: `${kind}-node-1`, waiting: 2, active: 0, failed: failing.length, processed: planned.length }, queue)
      t.ok(record.oldestWaitingMs >= 0, 'the oldest waiting job has an age')

      const failed = (await get(app, `/api/pulse/queues/${service}/${queue}/jobs`)).jobs as {
        id: string
        name: string
        failedReason: string
        attemptsMade: number
        timestamp: number
        data: string
        stacktrace: string[]
      }[]
      t.same(failed.map((job) => job.id).sort(), failing.map((job) => ids.get(job.name)).sort(), `${queue}: every failed job, by the id commands name`)
      for (const job of failed) {
        t.equal(job.failedReason, `${job.name} failed: SMTP timeout`)
        t.equal(job.attemptsMade, 1)
        t.same(JSON.parse(job.data), { failTimes: failing.find((p) => p.name === job.name)!.failTimes, error: job.failedReason })
        t.match(job.stacktrace.at(-1), /SMTP timeout/)
      }
      t.same(
        failed.map((job) => job.timestamp),
        failed.map((job) => job.timestamp).sort((a, b) => b - a),
        'newest first',
      )
    }

    const slow = (await get(app, `/api/pulse/slow?service=${service}`)).entries as { kind: string; name: string; queue: string; jobId: string; attempts: number; error?: string; nodeId: string }[]
    t.same(slow.map((entry) => entry.name).sort(), jobs.map((job) => job.name).sort(), 'one slow entry per job run')
    for (const entry of slow) {
      const job = jobs.find((p) => p.name === entry.name)!
      t.match(entry, { kind: 'job', queue: job.queue, jobId: ids.get(job.name), attempts: 1, nodeId: `${kind}-node-1` })
      t.equal(entry.error, job.failTimes > 0 ? `${job.name} failed: SMTP timeout` : undefined)
    }
  })
}
