/**
 * Retry and Delete on a job's page: a real SDK agent declares them for its BullMQ queue and answers
 * LIST_JOBS, so the page reads the failed job live through it. An operator gets the queue page's
 * command forms for the job, and the retry they post runs it again; a viewer sees no button.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { FORM, hiddenField } from '../auth/helpers.js'
import { findQueue } from '../../server/queues/service.js'
import { jobUrl } from '../../server/http/urls.js'
import { loginAs, startConsole, startWorker, waitForFinal } from '../commands/fixture.js'

const { server: redisServer } = await useRedis(t)

t.test('an operator retries a failed job from its page; a viewer gets no button', async (t) => {
  const app = await startConsole(t, { redisUrl: redisServer.url, users: true })
  const worker = await startWorker(t, { redisUrl: redisServer.url, nodeId: 'jobs-actions-1', failures: 3 })
  await eventually(async () => {
    await app.collector.refresh()
    const record = findQueue(app.collector.snapshot, worker.service, worker.name)
    return record?.listsJobs === true && (record.failedJobs?.length ?? 0) === 3
  }, 'the agent declares LIST_JOBS and reports its failed jobs')
  const jobId = worker.queue.failedIds[1]!
  const url = jobUrl(worker.service, worker.name, jobId)

  const operator = await loginAs(app, 'olivia')
  const page = await app.inject({ url, headers: { cookie: operator.cookie, accept: 'text/html' } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /class="q-source job-origin"[^>]*>live</, 'read live, through the agent')
  t.match(page.body, new RegExp(`aria-label="Retry job ${jobId}"`), 'Retry for a failed job')
  t.match(page.body, new RegExp(`aria-label="Delete job ${jobId}"`), 'Delete, as the queue declares')
  const retryForm = /<form class="job-action" method="post" action="\/commands\/retry"[\s\S]*?<\/form>/.exec(page.body)![0]
  t.equal(hiddenField(retryForm, 'jobId'), jobId)
  t.equal(hiddenField(retryForm, 'nodeId'), worker.nodeId)

  const viewer = await loginAs(app, 'victor')
  const seen = await app.inject({ url, headers: { cookie: viewer.cookie, accept: 'text/html' } })
  t.equal(seen.statusCode, 200, 'a viewer may read the job')
  t.notMatch(seen.body, /aria-label="Retry job/, 'and gets no button')

  await worker.queue.startWorker()
  const fields = ['_csrf', 'service', 'nodeId', 'queue', 'jobId'].map((name) => [name, name === '_csrf' ? operator.csrf : hiddenField(retryForm, name)])
  const posted = await app.inject({ method: 'POST', url: '/commands/retry', headers: { cookie: operator.cookie, 'content-type': FORM }, payload: new URLSearchParams(fields).toString() })
  t.equal(posted.statusCode, 303)
  const id = /\/commands\/([^/?#]+)/.exec(posted.headers.location as string)![1]!
  t.match(await waitForFinal(app, id, { cookie: operator.cookie }), { status: 'ok' })
  await eventually(() => (worker.queue.runs.get(jobId) ?? 0) >= 2, 'the retried job ran again')
})
