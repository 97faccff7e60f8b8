/**
 * The PHP and Python reference agents (examples/) run for real against a real Redis and a real
 * console: the console shows each node with the values its runtime measured, each queue of its job
 * store with counts and failed jobs, and its slow jobs; a retry and a delete sent through the
 * console's API are run by the agent and shown as ok.
 */
import t, { type Test } from 'tap'
import { totalmem, cpus } from 'node:os'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { TOKEN } from '../commands/signed.js'
import { JSON_HEADERS, waitForFinal } from '../commands/fixture.js'
import { AGENT_KINDS, referenceAgent, type AgentKind, type ReferenceAgent } from './reference-agent.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())
const redis = new Redis(redisServer.url)
t.teardown(() => redis.quit())

interface PlannedJob {
  queue: string
  name: string
  /** failed attempts before it succeeds; 99: it never does */
  failTimes: number
}

/** Jobs in every state the store has, enqueued in an order that differs per seed. */
function plan(seed: number): PlannedJob[] {
  const jobs: PlannedJob[] = []
  for (const queue of ['mail', 'reports']) {
    for (let i = 0; i < 3; i++) jobs.push({ queue, name: `send-${queue}-${i}`, failTimes: 0 })
    for (let i = 0; i < 2; i++) jobs.push({ queue, name: `flaky-${queue}-${i}`, failTimes: 1 })
    jobs.push({ queue, name: `broken-${queue}`, failTimes: 99 })
  }
  // a fixed shuffle per seed: every agent sees its jobs arrive in another order
  return jobs.map((job, i) => ({ job, key: (i * 7919 + seed * 104729) % 97 })).sort((a, b) => a.key - b.key).map(({ job }) => job)
}

async function startAgent(t: Test, kind: AgentKind, service: string) {
  const agent = referenceAgent(kind, {
    REDIS_URL: redisServer.url,
    SERVICE: service,
    NODE_ID: `${kind}-node-1`,
    QUASAR_TOKEN: TOKEN,
    QUEUES: 'mail,reports',
    JOB_STORE: `store:${service}`,
    SLOW_MS: '0', // every job run is a slow entry, so the slow log is exact, not timing-dependent
  })
  const app = await buildTestApp({ redisUrl: redisServer.url, quasarToken: TOKEN })
  t.teardown(() => app.close())
  return { agent, app }
}

/** Enqueues the plan, lets the agent run it all, then enqueues `waiting` more per queue. */
async function runPlan(agent: ReferenceAgent, jobs: PlannedJob[], waiting: number) {
  const ids = new Map<string, string>()
  for (const job of jobs) ids.set(job.name, await agent.enqueue(job.queue, job.name, job.failTimes ? { failTimes: job.failTimes, error: `${job.name} failed: SMTP timeout` } : { to: job.name }))
  const run = await agent.once()
  if (run.code !== 0) throw new Error(`${agent.kind} agent --once failed: ${run.stderr}`)
  for (const queue of ['mail', 'reports']) for (let i = 0; i < waiting; i++) await agent.enqueue(queue, `later-${queue}-${i}`)
  return ids
}

async function refreshUntil(app: FastifyInstance, check: () => Promise<boolean>, what: string) {
  await eventually(async () => {
    await app.collector.refresh()
    return check()
  }, what)
}

const get = async (app: FastifyInstance, url: string) => (await app.inject(url)).json()

for (const [seed, kind] of AGENT_KINDS.entries()) {
  t.test(`${kind}: the console shows the node, its queues with failed jobs, and its slow jobs`, async (t) => {
    const service = `${kind}-shop`
    const { agent, app } = await startAgent(t, kind, service)
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
    t.same(node.queues.map((q: { name: string }) => q.name), ['mail', 'reports'], 'the heartbeat lists its queues')

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

      const failed = (await get(app, `/api/pulse/queues/${service}/${queue}/jobs`)).jobs as { id: string; name: string; failedReason: string; attemptsMade: number; timestamp: number; data: string; stacktrace: string[] }[]
      t.same(failed.map((job) => job.id).sort(), failing.map((job) => ids.get(job.name)).sort(), `${queue}: every failed job, by the id commands name`)
      for (const job of failed) {
        t.equal(job.failedReason, `${job.name} failed: SMTP timeout`)
        t.equal(job.attemptsMade, 1)
        t.same(JSON.parse(job.data), { failTimes: failing.find((p) => p.name === job.name)!.failTimes, error: job.failedReason })
        t.match(job.stacktrace.at(-1), /SMTP timeout/)
      }
      t.same(failed.map((job) => job.timestamp), failed.map((job) => job.timestamp).sort((a, b) => b - a), 'newest first')
    }

    const slow = (await get(app, `/api/pulse/slow?service=${service}`)).entries as { kind: string; name: string; queue: string; jobId: string; attempts: number; error?: string; nodeId: string }[]
    t.same(slow.map((entry) => entry.name).sort(), jobs.map((job) => job.name).sort(), 'one slow entry per job run')
    for (const entry of slow) {
      const job = jobs.find((p) => p.name === entry.name)!
      t.match(entry, { kind: 'job', queue: job.queue, jobId: ids.get(job.name), attempts: 1, nodeId: `${kind}-node-1` })
      t.equal(entry.error, job.failTimes > 0 ? `${job.name} failed: SMTP timeout` : undefined)
    }
  })

  // Needs the console to honour a queue's declared `commands` for any driver: before that, a
  // queue of driver "other" is read-only and the API answers 409.
  t.test(`${kind}: a retry and a delete sent through the console run on the agent and show as ok`, async (t) => {
    const service = `${kind}-desk`
    const { agent, app } = await startAgent(t, kind, service)
    const jobs = plan(seed + 2)
    const ids = await runPlan(agent, jobs, 0)
    const flaky = ids.get('flaky-mail-0')!
    const broken = ids.get('broken-mail')!
    await refreshUntil(app, async () => (await get(app, `/api/pulse/queues/${service}/mail/jobs`)).jobs?.length === 3, 'the failed jobs are listed')

    const send = (type: string, jobId: string) =>
      app.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service, nodeId: `${kind}-node-1`, queue: 'mail', type, jobId }) })
    const retry = await send('RETRY_JOB', flaky)
    const remove = await send('DELETE_JOB', broken)
    t.equal(retry.statusCode, 202, retry.body)
    t.equal(remove.statusCode, 202, remove.body)
    if (retry.statusCode !== 202 || remove.statusCode !== 202) return

    // the agent's next pass reads both from its stream, runs them, then runs the retried job
    const run = await agent.once()
    t.equal(run.code, 0, run.stderr)
    t.match(await waitForFinal(app, retry.json().id), { status: 'ok', type: 'RETRY_JOB', jobId: flaky })
    t.match(await waitForFinal(app, remove.json().id), { status: 'ok', type: 'DELETE_JOB', jobId: broken })

    await refreshUntil(app, async () => (await get(app, `/api/pulse/queues?service=${service}`)).queues.find((q: { name: string }) => q.name === 'mail')?.processed === 7, 'the retried job ran again')
    const mail = (await get(app, `/api/pulse/queues?service=${service}`)).queues.find((q: { name: string }) => q.name === 'mail')
    t.match(mail, { waiting: 0, failed: 1 }, 'retried and succeeded, deleted: one failed job left')
    const left = (await get(app, `/api/pulse/queues/${service}/mail/jobs`)).jobs.map((job: { id: string }) => job.id)
    t.same(left, [ids.get('flaky-mail-1')])
    t.equal(await redis.hexists(`store:${service}:mail:jobs`, broken), 0, 'the deleted job is gone from the store')
  })
}
