/**
 * The console's core on one valkey-server (Valkey 8), as on one redis-server (Redis 7.0): an SDK
 * agent beating, monitoring a real BullMQ queue and recording slow jobs; a second BullMQ queue
 * found by discovery; one tick shows nodes, queues and slow jobs; history is written and read
 * back; a queue_wait rule fires to a webhook; a RETRY_JOB command is signed, executed by the agent
 * and audited.
 */
import t, { type Test } from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { ENGINES, startRedis, type RedisEngine } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { startConsole, startWorker, waitForFailed, waitForFinal, JSON_HEADERS } from '../commands/fixture.js'
import { alertsApi, rulesDir, tick } from '../alerts/fixtures.js'
import { startReceiver } from '../alerts/receiver.js'

const S = 1_000
const M = 60_000

// Valkey is the engine this file is for; the same steps on redis-server show the two alike
for (const engine of ENGINES) t.test(`on ${engine}: nodes, queues, slow, history, alerts and commands`, (t) => smoke(t, engine))

async function smoke(t: Test, engine: RedisEngine): Promise<void> {
  const server = await startRedis([], { engine })
  t.teardown(() => server.stop())
  const admin = new Redis(server.url)
  const info = await admin.info('server')
  admin.disconnect()
  t.match(info, engine === 'valkey' ? /^valkey_version:8\./m : /^redis_version:7\./m, `${engine} answers`)
  const files = rulesDir()
  t.teardown(() => files.remove())
  const hook = await startReceiver()
  t.teardown(() => hook.close())
  const alertsFile = files.write('wait.json', {
    channels: [{ name: 'ops', type: 'webhook', url: hook.url('/hook') }],
    rules: [{ name: 'emails-wait', metric: 'queue_wait', above: '2m', for: '1m', cooldown: '30m', queue: 'emails', channels: ['ops'] }],
  })
  // the agent beats on the real clock: the console's runs with it, moved ahead only for the alert
  let ahead = 0
  const clock = () => Date.now() + ahead
  const start = Date.now()
  const app = await startConsole(t, { redisUrl: server.url, clock, alertsFile })

  // discovered: three waiting jobs, the oldest made 3 minutes ago, no worker
  const emails = new Queue('emails', { connection: { url: server.url } })
  t.teardown(() => emails.close())
  for (const [i, ago] of [3 * M, 2 * M, M].entries()) await emails.add(`send-${i}`, { i }, { timestamp: start - ago })
  // an agent's queue with two failed jobs, and a slow job it recorded
  const worker = await startWorker(t, { redisUrl: server.url, failures: 2 })
  t.equal(worker.agent.recordSlow({ kind: 'job', name: 'send-invoice', durationMs: 4_200, queue: worker.name }), true, 'the slow job recorded')
  await worker.agent.flushSlow()
  await waitForFailed(app, worker, 2)

  await tick(app)
  const nodes = (await app.inject('/api/pulse/nodes')).json()
  t.match(nodes.services.find((service: any) => service.name === worker.service)?.nodes, [{ id: worker.nodeId, health: 'fresh' }], 'the agent node, fresh')
  const queues: any[] = (await app.inject('/api/pulse/queues')).json().queues
  t.match(
    queues.find((queue) => queue.service === 'bull' && queue.name === 'emails'),
    { source: 'discovered', waiting: 3 },
    'the discovered BullMQ queue, counted',
  )
  t.ok(queues.find((queue) => queue.name === 'emails').oldestWaitingMs >= 3 * M, 'and dated by its oldest job')
  t.match(
    queues.find((queue) => queue.service === worker.service && queue.name === worker.name),
    { source: 'agent', failed: 2 },
    "the agent's queue",
  )
  const slow = (await app.inject('/api/pulse/slow')).json()
  t.match(
    slow.groups.map((group: any) => [group.service, group.kind, group.name, group.count, group.maxMs]),
    [[worker.service, 'job', 'send-invoice', 1, 4_200]],
    'the slow job',
  )

  // commands: signed by the console, run by the agent, audited
  const jobId = worker.queue.failedIds[0]!
  await worker.queue.startWorker()
  const sent = await app.inject({
    method: 'POST',
    url: '/api/pulse/command',
    headers: JSON_HEADERS,
    payload: JSON.stringify({ service: worker.service, nodeId: worker.nodeId, type: 'RETRY_JOB', queue: worker.name, jobId }),
  })
  t.equal(sent.statusCode, 202, 'the command accepted')
  const { id } = sent.json() as { id: string }
  t.match(await waitForFinal(app, id), { status: 'ok', queue: worker.name }, 'and run')
  await eventually(() => worker.queue.runs.get(jobId) === 2, 'the retried job ran again')
  t.equal((await app.inject(`/commands/${id}`)).statusCode, 200, 'the audit page of the command')

  // alerts: the oldest job waits past 2 m for the rule's whole minute
  await tick(app)
  ahead = M + 10 * S
  await tick(app)
  t.equal(hook.requests.length, 1, 'queue_wait fired once')
  t.match(hook.requests[0]!.body, { rule: 'emails-wait', target: 'bull/emails', state: 'firing' }, 'to the webhook')
  await app.collector.refresh()
  t.same(
    (await alertsApi(app)).firing.map((alert) => [alert.rule, alert.target]),
    [['emails-wait', 'bull/emails']],
    'and is firing',
  )

  // history: the queue's readings, written at each tick, read back
  const history = (await app.inject('/api/pulse/queues/bull/emails/history?range=1h')).json()
  const waiting = history.points.filter((point: any) => point.waiting !== null).map((point: any) => point.waiting)
  t.ok(waiting.length > 0 && waiting.every((count: number) => count === 3), `the queue's history holds its readings (${waiting.join(', ')})`)
}
