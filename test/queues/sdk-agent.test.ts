/**
 * A real agent end to end: the SDK's `monitorQueue` on a real BullMQ queue whose worker really
 * throws, read by the console. The queue is shown as the agent's (owned by its node; this agent
 * runs with commands off and declares none, so the queue is read-only and says why), with the
 * failed jobs' detail the agent sent; the same queue, also visible to
 * discovery in this Redis, is not listed twice.
 */
import t from 'tap'
import { Queue, Worker } from 'bullmq'
import { startPulse } from '@gravito/quasar'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())
const connection = { url: redisServer.url }

t.test('monitorQueue on a BullMQ queue with real failures', async (t) => {
  const queue = new Queue('invoices', { connection })
  t.teardown(() => queue.close())
  await queue.addBulk([
    { name: 'render', data: { invoice: 1, note: '<b>bold</b>' } },
    { name: 'render', data: { invoice: 2 } },
  ])
  const worker = new Worker(
    'invoices',
    async (job) => {
      throw new Error(`renderer crashed on invoice ${job.data.invoice}`)
    },
    { connection },
  )
  t.teardown(() => worker.close())
  await eventually(async () => (await queue.getFailedCount()) === 2, 'both jobs failed')
  await worker.close()
  await queue.add('render', { invoice: 3 })

  const agent = startPulse({ service: 'billing', nodeId: 'worker-1', url: redisServer.url, intervalMs: 1_000, commands: false }).monitorQueue('invoices', 'bullmq')
  t.teardown(() => agent.stop())
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())

  let queues: any[] = []
  await eventually(async () => {
    await app.collector.refresh()
    queues = (await app.inject('/api/pulse/queues')).json().queues
    return queues.some((q) => q.source === 'agent' && q.failed === 2)
  }, "the agent's snapshot is read")
  t.same(
    queues.map((q) => `${q.service}/${q.name}/${q.source}`),
    ['billing/invoices/agent'],
    "shown once, as the agent's",
  )
  t.match(queues[0], { driver: 'bullmq', nodeId: 'worker-1', readOnly: true, commands: [], readOnlyReason: 'its agent declares no commands for it', failed: 2 })
  t.equal(queues[0].waiting, 1, 'the job added after the worker stopped')

  const { jobs } = (await app.inject('/api/pulse/queues/billing/invoices/jobs?state=failed')).json()
  t.equal(jobs.length, 2)
  t.ok(
    jobs.every((job: any) => /^renderer crashed on invoice \d$/.test(job.failedReason)),
    'real failure reasons',
  )
  t.ok(
    jobs.every((job: any) => /at /.test(job.stacktrace?.[0] ?? '')),
    'real stack traces',
  )
  const page = await app.inject('/queues/billing/invoices')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'reported by <a href="/pulse/billing/worker-1">worker-1</a>')
  t.match(page.body, '&lt;b&gt;bold&lt;/b&gt;')
  t.match(page.body, 'Read-only: its agent declares no commands for it.')
  t.notMatch(page.body, /Retry job|Delete job/)
  t.notMatch(page.body, '<b>bold</b>')
  const pulse = await app.inject('/pulse')
  t.match(pulse.body, '<a class="q-link" href="/queues/billing/invoices">', 'the node card links the queue it reports')
})
