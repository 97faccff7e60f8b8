/**
 * Queues under hash tags on a real 3-master Cluster, on Redis and on Valkey. Real BullMQ queues
 * with jobs in every state under a tagged prefix (`{bull}:emails:…`, and `{app}` holding queues of
 * the same names), and with tagged names under the default prefix (`bull:{emails}:…`, spread over
 * the masters); Laravel queues with tagged names as Laravel writes them on a Cluster
 * (`queues:{default}`, `:delayed`, `:reserved`, `:notify`), with and without a connection prefix.
 * The console's queues part finds every one on every master, counts it as BullMQ's `getJobCounts`
 * does, dates its oldest waiting job and measures its throughput; the live job browse lists each
 * state as BullMQ's `getJobs` does. Keys that look like tagged metas but are not a queue's cost
 * only themselves, each reported with a reason.
 */
import t, { type Test } from 'tap'
import calculateSlot from 'cluster-key-slot'
import { Queue, Worker } from 'bullmq'
import { Cluster, Redis } from 'ioredis'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { ENGINES, type RedisEngine } from '../helpers/redis-server.js'
import { documentedAclLines, setUserArgs } from '../helpers/documented-acl.js'
import { createQueuesCollector, discoveredService } from '../../server/queues/collector-part.js'
import { createLiveJobReader } from '../../server/queues/live-reader.js'
import type { LiveJobState } from '../../server/queues/live-jobs.js'
import type { QueueRecord } from '../../server/queues/records.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import type { Snapshot } from '../../server/collector/snapshot.js'
import { buildFleet, planFleet, type BuiltQueue, type Fleet, type QueuePlan } from './bullmq-fleet.js'
import { keys, laravelPayload } from './helpers.js'

const consoleKeys = createConsoleKeys(keys.prefix)
/** bytes of a hostile value: more than a whole read of every queue here sends */
const HUGE = 2 * 1024 * 1024
const previous = { nodes: [] } as unknown as Snapshot
/** the live browse's states, as BullMQ's getJobs names them */
const BROWSED: [LiveJobState, string][] = [
  ['waiting', 'wait'],
  ['prioritized', 'prioritized'],
  ['active', 'active'],
  ['delayed', 'delayed'],
  ['waiting-children', 'waiting-children'],
  ['completed', 'completed'],
  ['failed', 'failed'],
]

/** a tagged prefix, tagged names, and a second tagged prefix reusing the first one's names */
interface Shape {
  label: string
  prefix: string
  plans: QueuePlan[]
  childInOwnQueue: boolean
}

function shapes(): Shape[] {
  const tagged = planFleet(5, 6)
  // other amounts under the same names: the same queue name under two prefixes is two queues
  const again = planFleet(41, 3).map((plan, i) => ({ ...plan, name: tagged[i]!.name }))
  return [
    { label: 'tagged prefix {bull}', prefix: '{bull}', plans: tagged, childInOwnQueue: false },
    { label: 'tagged names under bull', prefix: 'bull', plans: planFleet(23, 6).map((plan) => ({ ...plan, name: `{${plan.name}}` })), childInOwnQueue: true },
    { label: 'tagged prefix {app}, same names', prefix: '{app}', plans: again, childInOwnQueue: false },
  ]
}

/** Laravel queues as Laravel 13 keys them on a Cluster: the name inside a hash tag */
const LARAVEL = [
  { prefix: '', queue: '{default}', waiting: 3, delayed: 1, reserved: 2 },
  { prefix: '', queue: '{emails}', waiting: 1, delayed: 0, reserved: 0 },
  { prefix: 'laravel_database_', queue: '{default}', waiting: 2, delayed: 2, reserved: 1 },
  { prefix: 'laravel_database_', queue: '{reports}', waiting: 0, delayed: 3, reserved: 0 },
]

for (const engine of ENGINES) t.test(`on ${engine}`, (t) => suite(t, engine))

async function suite(t: Test, engine: RedisEngine): Promise<void> {
  const cluster = await startRedisCluster(3, { engine })
  t.teardown(() => cluster.stop())
  const client = cluster.connect()
  t.teardown(() => client.quit())
  // BullMQ's own connection: its workers block on a duplicate of it
  const bullmq = cluster.connect()
  t.teardown(() => bullmq.quit())

  const built: { shape: Shape; fleet: Fleet }[] = []
  let timestamp = Date.now() - 3_600_000
  for (const shape of shapes()) {
    const fleet = await buildFleet(shape.plans.length * 7 + 1, shape.plans, bullmq, timestamp, { prefix: shape.prefix, childInOwnQueue: shape.childInOwnQueue })
    t.teardown(() => fleet.close())
    built.push({ shape, fleet })
    timestamp = fleet.lastTimestamp + 1_000
  }
  const laravelNow = Math.floor(timestamp / 1000) + 60
  for (const [i, spec] of LARAVEL.entries()) await writeLaravelQueue(client, spec, laravelNow - 600 + i * 60)
  const now = laravelNow * 1000 + 3_600_000

  const everyQueue = built.flatMap(({ shape, fleet }) => fleet.queues.map((queue) => ({ shape, queue })))
  const metaKeys = everyQueue.map(({ shape, queue }) => `${shape.prefix}:${queue.plan.name}:meta`)
  t.ok(new Set(await Promise.all(metaKeys.map((key) => masterOf(client, key)))).size > 1, 'the queues live on more than one master')

  const reports: [string, string][] = []
  const part = createQueuesCollector(client, consoleKeys, { report: (key, reason) => void reports.push([key, reason]) }, { stepsPerTick: 1_000 })
  const items = (await part.collect(now, previous))!.items

  t.test('every queue found on every master, under its own prefix and name', async (t) => {
    t.same(
      items.map((item) => `${item.driver}|${item.prefix}|${item.name}`).sort(),
      [...everyQueue.map(({ shape, queue }) => `bullmq|${shape.prefix}|${queue.plan.name}`), ...LARAVEL.map((spec) => `laravel|${spec.prefix}|${spec.queue}`)].sort(),
      'one record per queue, nothing else',
    )
    for (const { shape } of built) {
      const services = new Set(items.filter((item) => item.prefix === shape.prefix && item.driver === 'bullmq').map((item) => item.service))
      t.same([...services], [discoveredService({ driver: 'bullmq', prefix: shape.prefix, queue: 'q' })], `${shape.label}: one service for the prefix`)
    }
    t.equal(new Set(items.map((item) => `${item.driver}|${item.prefix}`)).size, new Set(items.map((item) => item.service)).size, 'one service per driver and prefix, none shared')
    t.same(reports, [], 'nothing reported')
  })

  t.test('BullMQ: counts, oldest waiting job and failed jobs as BullMQ holds them', async (t) => {
    for (const { shape, queue } of everyQueue) await expectQueue(t, items, shape, queue, now)
  })

  t.test('Laravel: counts and oldest waiting job of each tagged queue', async (t) => {
    for (const [i, spec] of LARAVEL.entries()) {
      const shown = items.find((item) => item.driver === 'laravel' && item.prefix === spec.prefix && item.name === spec.queue)
      const pushedAt = (laravelNow - 600 + i * 60) * 1000
      t.match(shown, { waiting: spec.waiting, delayed: spec.delayed, active: spec.reserved, failed: null }, `${spec.prefix}${spec.queue}: its own counts`)
      if (spec.waiting > 0) t.equal(shown?.oldestWaitingMs, now - pushedAt, `${spec.prefix}${spec.queue}: dated by its head`)
      else t.notOk(shown && 'oldestWaitingMs' in shown, `${spec.prefix}${spec.queue}: nothing waits, no age`)
    }
  })

  t.test('the live browse lists every state as BullMQ getJobs does, and reads a job whole', async (t) => {
    const live = createLiveJobReader(client, () => now)
    for (const { shape, queue } of everyQueue) {
      const record = recordOf(items, shape.prefix, queue.plan.name)
      if (!record) continue
      for (const [state, bullmqState] of BROWSED) {
        const page = await live.list(record, state, 1)
        const truth = (await queue.queue.getJobs([bullmqState] as never, 0, -1)).map((job) => job.id)
        t.notOk(page.error, `${shape.prefix} ${queue.plan.name} ${state}: no error`)
        t.same(
          page.jobs.map((job) => job.id),
          truth,
          `${shape.prefix} ${queue.plan.name} ${state}: every job, in BullMQ's order`,
        )
      }
      for (const made of queue.failed) {
        const job = await live.get(record, made.id)
        t.match(job, { id: made.id, name: made.name, state: 'failed' }, `${shape.prefix} ${queue.plan.name}#${made.id}: read whole`)
        t.equal(job?.failedReason?.slice(0, 40), made.reason.slice(0, 40), `${shape.prefix} ${queue.plan.name}#${made.id}: its own reason`)
      }
    }
    for (const spec of LARAVEL) {
      const record = items.find((item) => item.driver === 'laravel' && item.prefix === spec.prefix && item.name === spec.queue)!
      for (const [state, count] of [
        ['waiting', spec.waiting],
        ['delayed', spec.delayed],
        ['active', spec.reserved],
      ] as const) {
        const page = await live.list(record, state, 1)
        t.same([page.total, page.jobs.length, page.error], [count, count, undefined], `${spec.prefix}${spec.queue} ${state}: every job`)
      }
    }
  })

  t.test('as the documented console user: the patterns it is given, the rest refused and reported', async (t) => {
    const console = await consoleUser(client, cluster.nodes)
    t.teardown(() => console.quit())
    const reported: [string, string][] = []
    const part = createQueuesCollector(console, consoleKeys, { report: (key, reason) => void reported.push([key, reason]) }, { stepsPerTick: 1_000 })
    const shown = (await part.collect(now, previous))!.items
    // `{bull}:*`, `bull:*` and `queues:*` are in the documented line; `{app}:*` and a Laravel connection prefix are not
    const allowed = (prefix: string) => ['{bull}', 'bull', ''].includes(prefix)
    t.same(
      shown.map((item) => `${item.driver}|${item.prefix}|${item.name}`).sort(),
      items
        .filter((item) => allowed(item.prefix!))
        .map((item) => `${item.driver}|${item.prefix}|${item.name}`)
        .sort(),
      'every queue under a documented pattern',
    )
    for (const { shape, queue } of everyQueue.filter(({ shape }) => allowed(shape.prefix))) await expectQueue(t, shown, shape, queue, now)
    const refused = new Set(reported.filter(([, reason]) => /^NOPERM/.test(reason)).map(([key]) => key.slice(0, key.indexOf(':') + 1)))
    t.same([...refused].sort(), ['laravel_database_queues:', '{app}:'], 'the queues outside them refused, each reported')
    t.equal(reported.length, reported.filter(([, reason]) => /^NOPERM/.test(reason)).length, 'nothing else reported')
  })

  t.test('keys that look like tagged metas cost only themselves, each with a reason', async (t) => {
    const hostile = cluster.connect()
    t.teardown(() => hostile.quit())
    // someone else's string named like a meta
    await hostile.set('{bull}:squatter:meta', 'not a hash')
    // a meta that says BullMQ, with a list where its wait list should be
    await hostile.hset('{evil}:broken:meta', 'version', 'bullmq:5.0.0', 'opts.maxLenEvents', '10000')
    await hostile.hset('{evil}:broken:wait', 'not', 'a list')
    // an application's own hash named like a meta: not BullMQ's, not a queue, nothing to report
    await hostile.hset('{cache}:users:meta', 'owner', 'someone else')
    // text far over what an id or a version needs: read plainly, each would cross the wire whole
    await hostile.hset('{evil}:huge:meta', 'version', `bullmq:${'9'.repeat(HUGE)}`, 'opts.maxLenEvents', '10000')
    await hostile.hset('{evil}:tail:meta', 'version', 'bullmq:5.0.0', 'opts.maxLenEvents', '10000')
    await hostile.rpush('{evil}:tail:wait', 'x'.repeat(HUGE))
    // a Laravel queue whose oldest payload is too long to parse: counted, not dated
    await hostile.rpush('queues:{huge}', laravelPayload('big', 1, { data: 'x'.repeat(HUGE) }))
    // an agent, as the documented ACL lets it, writing look-alikes under its own node prefix (on
    // the master of their slot: the agent's line has no CLUSTER SLOTS to learn the others)
    const forged = [`${consoleKeys.prefix}node:billing:x:{q}:meta`, `${consoleKeys.prefix}node:billing:x:{q}:wait`]
    const agent = await agentOn(client, await masterOf(client, forged[0]!))
    t.teardown(() => agent.quit())
    for (const key of forged) await agent.set(key, 'forged')

    const reported: [string, string][] = []
    const watched = createQueuesCollector(client, consoleKeys, { report: (key, reason) => void reported.push([key, reason]) }, { stepsPerTick: 1_000 })
    const sent = await bytesSent(client)
    const after = (await watched.collect(now, previous))!.items
    const read = (await bytesSent(client)) - sent
    t.ok(read < HUGE, `one read of every queue and look-alike sent ${read} bytes, less than one long value`)
    t.same(
      after.map((item) => `${item.driver}|${item.prefix}|${item.name}`).sort(),
      [...items.map((item) => `${item.driver}|${item.prefix}|${item.name}`), 'laravel||{huge}'].sort(),
      'the same queues as before, none of the look-alikes',
    )
    t.match(
      after.find((item) => item.name === '{huge}'),
      { waiting: 1, oldestWaitingMs: undefined },
      'the long Laravel payload: counted, its age unknown',
    )
    for (const { shape, queue } of everyQueue.slice(0, 4)) await expectQueue(t, after, shape, queue, now)
    t.same(
      [...new Set(reported.map(([key, reason]) => `${key} ${/^[A-Z]+ /.test(reason) ? reason.split(' ')[0] : reason}`))].sort(),
      ['{bull}:squatter:meta WRONGTYPE', '{evil}:broken:wait WRONGTYPE', `{evil}:huge:meta a value of ${HUGE + 7} bytes, over the 4096 read`, `{evil}:tail:wait a value of ${HUGE} bytes, over the 4096 read`].sort(),
      'each bad key reported under its own name, the application hash and the agent keys not at all',
    )
  })

  t.test('throughput of a tagged-prefix and a tagged-name queue, from successive readings', async (t) => {
    const made = [
      { prefix: '{bull}', queue: new Queue('rate', { connection: bullmq, prefix: '{bull}' }) },
      { prefix: 'bull', queue: new Queue('{rate}', { connection: bullmq, prefix: 'bull' }) },
    ]
    t.teardown(() => Promise.all(made.map(({ queue }) => queue.close())))
    const finish = async ({ prefix, queue }: (typeof made)[number], count: number) => {
      await queue.addBulk(Array.from({ length: count }, (_, n) => ({ name: `r-${n}`, data: {} })))
      const worker = new Worker(queue.name, async () => 'ok', { connection: bullmq, prefix })
      worker.on('error', () => {})
      await new Promise<void>((resolve) => {
        let done = 0
        worker.on('completed', () => ++done === count && resolve())
      })
      await worker.close()
    }
    for (const queue of made) await finish(queue, 1)
    const rates = createQueuesCollector(client, consoleKeys, { report: () => {} }, { stepsPerTick: 1_000 })
    const first = (await rates.collect(now, previous))!.items
    for (const { prefix, queue } of made) t.match(recordOf(first, prefix, queue.name), { completed: 1, throughput: undefined }, `${prefix} ${queue.name}: one reading, no rate yet`)
    await finish(made[0]!, 4)
    await finish(made[1]!, 7)
    const second = (await rates.collect(now + 10_000, previous))!.items
    t.equal(recordOf(second, '{bull}', 'rate')?.throughput, 0.4, '{bull} rate: 4 jobs in 10 s')
    t.equal(recordOf(second, 'bull', '{rate}')?.throughput, 0.7, 'bull {rate}: 7 jobs in 10 s')
  })
}

function recordOf(items: readonly QueueRecord[], prefix: string, name: string): QueueRecord | undefined {
  return items.find((item) => item.driver === 'bullmq' && item.prefix === prefix && item.name === name)
}

async function expectQueue(t: Test, items: readonly QueueRecord[], shape: Shape, built: BuiltQueue, now: number): Promise<void> {
  const { name } = built.plan
  const label = `${shape.prefix} ${name}`
  const shown = recordOf(items, shape.prefix, name)
  if (!t.ok(shown, `${label}: found`)) return
  const counts = await built.queue.getJobCounts()
  const paused = await built.queue.isPaused()
  t.equal(paused, built.plan.paused, `${label}: paused as planned`)
  const ready = counts.waiting! + counts.prioritized!
  t.same(
    { waiting: shown!.waiting, paused: shown!.paused, active: shown!.active, delayed: shown!.delayed, failed: shown!.failed, completed: shown!.completed, waitingChildren: shown!.waitingChildren },
    { waiting: paused ? 0 : ready, paused: paused ? ready : 0, active: counts.active, delayed: counts.delayed, failed: counts.failed, completed: counts.completed, waitingChildren: counts['waiting-children'] },
    `${label}: counts as BullMQ's own`,
  )
  if (built.readyTimestamps.length > 0) t.equal(shown!.oldestWaitingMs, now - Math.min(...built.readyTimestamps), `${label}: its own oldest waiting job`)
  else t.notOk('oldestWaitingMs' in shown!, `${label}: nothing waits, no age`)
  t.same((shown!.failedJobs ?? []).map((job) => job.id).sort(), built.failed.map((job) => job.id).sort(), `${label}: its own failed jobs`)
}

/** one Laravel queue's keys, written as Laravel's push, later and pop scripts leave them */
async function writeLaravelQueue(client: Cluster, spec: (typeof LARAVEL)[number], pushedAt: number): Promise<void> {
  const list = `${spec.prefix}queues:${spec.queue}`
  const ids = (kind: string, count: number) => Array.from({ length: count }, (_, n) => `${spec.prefix}${spec.queue}-${kind}-${n}`)
  // the name's hash tag puts every key of the queue in one slot, so one transaction writes them
  const multi = client.multi()
  for (const [n, id] of ids('w', spec.waiting).entries()) multi.rpush(list, laravelPayload(id, pushedAt + n)).rpush(`${list}:notify`, 1)
  for (const [n, id] of ids('d', spec.delayed).entries()) multi.zadd(`${list}:delayed`, pushedAt + 3_600 + n, laravelPayload(id, pushedAt))
  for (const [n, id] of ids('r', spec.reserved).entries()) multi.zadd(`${list}:reserved`, pushedAt + 90 + n, laravelPayload(id, pushedAt, { attempts: 1 }))
  await multi.exec()
}

/** a user of docs/security.md created on every master, with what else it is given here; its password */
async function createUser(admin: Cluster, user: string, extra: string[] = []): Promise<string> {
  const args = setUserArgs(documentedAclLines.find((line) => line.startsWith(`ACL SETUSER ${user} `))!)
  await Promise.all(admin.nodes('master').map((node) => node.call('ACL', 'SETUSER', ...args, ...extra)))
  return args.find((word) => word.startsWith('>'))!.slice(1)
}

/**
 * A Cluster client as the documented console user. An ioredis Cluster client learns the slot map
 * with CLUSTER SLOTS and checks the cluster with CLUSTER INFO, which that line does not grant:
 * they are added here.
 */
async function consoleUser(admin: Cluster, nodes: { host: string; port: number }[]): Promise<Cluster> {
  const password = await createUser(admin, 'zenith-console', ['+cluster|slots', '+cluster|info'])
  const client = new Cluster(nodes, { redisOptions: { username: 'zenith-console', password } })
  client.on('error', () => {})
  // the walk lists the masters the client knows: none before it has connected
  await client.ping()
  return client
}

/** one master's connection as the documented agent user */
async function agentOn(admin: Cluster, master: string): Promise<Redis> {
  const password = await createUser(admin, 'agent-billing')
  const [host, port] = master.split(':')
  return new Redis({ host: host!, port: Number(port), username: 'agent-billing', password })
}

/** bytes every master has sent to its clients so far */
async function bytesSent(client: Cluster): Promise<number> {
  const infos = await Promise.all(client.nodes('master').map((node) => node.info('stats')))
  return infos.reduce((sum, info) => sum + Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1]), 0)
}

/** the master serving a key's slot, as host:port */
async function masterOf(client: Cluster, key: string): Promise<string> {
  const slot = calculateSlot(key)
  const ranges = (await client.cluster('SLOTS')) as unknown as [number, number, [string, number]][]
  const range = ranges.find(([from, to]) => slot >= from && slot <= to)!
  return `${range[2][0]}:${range[2][1]}`
}
