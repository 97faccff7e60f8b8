/**
 * queue_wait end to end: a real BullMQ queue with waiting jobs, found by the console's own reader
 * in a real Redis, drives a queue_wait rule through the app's collector and a fake clock to a
 * webhook, the alerts API, and the highlighted /queues row; emptying the queue resolves it.
 */
import t from 'tap'
import { Queue } from 'bullmq'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { startReceiver } from './receiver.js'
import { alertsApi, rulesDir, tick } from './fixtures.js'

const { server: redisServer, redis } = await useRedis(t)
const connection = { url: redisServer.url }
const files = rulesDir()
t.teardown(() => files.remove())

const S = 1_000
const M = 60_000

t.test('jobs waiting too long fire queue_wait after `for`; a drained queue resolves it', async (t) => {
  await redis.flushall()
  const hook = await startReceiver()
  t.teardown(() => hook.close())
  const rulesFile = files.write('wait.json', {
    channels: [{ name: 'ops', type: 'webhook', url: hook.url('/hook') }],
    rules: [{ name: 'emails-wait', metric: 'queue_wait', above: '2m', for: '1m', cooldown: '30m', queue: 'emails', channels: ['ops'] }],
  })
  const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
  const emails = new Queue('emails', { connection })
  const reports = new Queue('reports', { connection })
  t.teardown(() => Promise.all([emails.close(), reports.close()]))
  // the oldest of three waiting jobs was made at T0; none is picked (no worker runs)
  for (const [i, offset] of [0, 20 * S, 40 * S].entries()) await emails.add(`send-${i}`, { i }, { timestamp: T0 + offset })
  // an old job in another queue: outside the rule's queue filter
  await reports.add('monthly', {}, { timestamp: T0 - 60 * M })
  const clock = fakeClock(T0 + 30 * S)
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rulesFile })
  t.teardown(() => app.close())

  const emailsRow = async () => (await app.inject('/api/pulse/queues')).json().queues.find((q: any) => q.name === 'emails')
  await tick(app)
  t.match(await emailsRow(), { service: 'bull', waiting: 3, oldestWaitingMs: 30 * S }, 'the reader measures the oldest job')

  clock.set(T0 + 2 * M + 10 * S)
  await tick(app)
  clock.set(T0 + 2 * M + 40 * S)
  await tick(app)
  t.equal(hook.requests.length, 0, 'over the line for 30 s of a 1 m window: nothing yet')
  t.same((await alertsApi(app)).firing, [])

  clock.set(T0 + 3 * M + 10 * S)
  await tick(app)
  t.equal(hook.requests.length, 1, 'held for the whole window: fired')
  t.match(hook.requests[0]!.body, { rule: 'emails-wait', metric: 'queue_wait', target: 'bull/emails', queue: 'emails', state: 'firing', value: 3 * M + 10 * S, threshold: 2 * M, at: T0 + 3 * M + 10 * S })
  await app.collector.refresh()
  const api = await alertsApi(app)
  t.same(
    api.firing.map((a) => [a.rule, a.target]),
    [['emails-wait', 'bull/emails']],
    'only the filtered queue fires',
  )
  const board = await app.inject('/alerts/fragments/board')
  t.match(board.body, /oldest waiting job 3m 10s/)
  t.match(board.body, /oldest waiting job older than 2m/)

  const table = (await app.inject('/fragments/queues/table')).body
  const row = table.split('<tr').find((tr) => tr.includes('>emails</a>'))
  t.match(row, /class="[^"]*q-long-wait/, 'the queue page highlights the waiting queue')
  t.match(row, /waiting 3m 10s/)
  t.match(row, /emails-wait firing/)
  const reportsRow = table.split('<tr').find((tr) => tr.includes('>reports</a>'))
  t.match(reportsRow, /class="[^"]*q-long-wait/, 'an hour-old job is highlighted without a rule')
  t.notMatch(reportsRow, /firing/, 'but no rule fires for it')
  const summary = (await app.inject('/queues/bull/emails/fragments/summary')).body
  t.match(summary, /<div class="is-long-wait"><dt>oldest waiting<\/dt><dd>3m 10s<\/dd>/, 'the queue page highlights the wait')
  t.match(summary, /class="q-marker q-alert"[^>]*title="oldest waiting job older than 2m: oldest waiting job 3m 10s">emails-wait firing</, 'and names the rule firing')

  // the jobs are picked up (here: removed); the next reading says nothing waits
  await emails.drain()
  clock.set(T0 + 3 * M + 20 * S)
  await tick(app)
  t.equal(hook.requests.length, 2)
  t.match(hook.requests[1]!.body, { rule: 'emails-wait', state: 'resolved', value: 0, firedAt: T0 + 3 * M + 10 * S })
  await app.collector.refresh()
  t.same((await alertsApi(app)).firing, [])
  const after = (await app.inject('/fragments/queues/table')).body.split('<tr').find((tr) => tr.includes('>emails</a>'))
  t.notMatch(after, /q-long-wait/, 'no highlight once nothing waits')
})
