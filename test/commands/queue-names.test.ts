/**
 * A command for a queue whose name BullMQ allows but no URL or key part would: the queue page
 * offers Retry with the name intact, the API sends it, the agent of that queue (under the `{bull}`
 * prefix) executes it on the right queue, and the command's page links back to the queue page.
 */
import t from 'tap'
import { startPulse } from '@gravito/quasar'
import { startRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { queueUrl } from '../../server/http/urls.js'
import { failingQueue } from './bullmq.js'
import { JSON_HEADERS, startConsole, waitForFailed, waitForFinal } from './fixture.js'
import { TOKEN } from './signed.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const NAME = 'facturas {alta} é & <b>#2</b> a/b?x'

t.test('RETRY_JOB on a queue with an odd name under {bull}', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url })
  const queue = await failingQueue(redisServer.url, NAME, 2, '{bull}')
  t.teardown(() => queue.close())
  const agent = startPulse({ service: 'billing', nodeId: 'odd-1', url: redisServer.url, token: TOKEN, intervalMs: 300 })
  agent.monitorQueue(NAME, 'bullmq', { prefix: '{bull}' })
  t.teardown(() => agent.stop())
  await queue.startWorker()
  await waitForFailed(app, { service: 'billing', name: NAME }, 2)

  const failed = await app.inject(`${queueUrl('billing', NAME)}/fragments/failed`)
  t.equal(failed.statusCode, 200)
  t.ok(failed.body.includes('value="facturas {alta} é &amp; &lt;b&gt;#2&lt;/b&gt; a/b?x"'), 'the Retry form carries the name, escaped')

  const jobId = queue.failedIds[0]!
  const sent = await app.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service: 'billing', nodeId: 'odd-1', type: 'RETRY_JOB', queue: NAME, jobId }) })
  t.equal(sent.statusCode, 202)
  const { id } = sent.json() as { id: string }
  t.match(await waitForFinal(app, id), { status: 'ok', queue: NAME })
  await eventually(() => queue.runs.get(jobId) === 2, 'the job ran again, on the queue named in the command')

  const page = await app.inject(`/commands/${id}`)
  t.equal(page.statusCode, 200)
  t.ok(page.body.includes(`href="${queueUrl('billing', NAME)}"`), 'the command page links back to the queue page')
  t.equal((await app.inject(queueUrl('billing', NAME))).statusCode, 200, 'which answers')
})
