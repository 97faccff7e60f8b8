/**
 * The recorder never hurts its host: with the application's Redis gone it reports to onError and
 * rejects nothing; passes asked for at once share one read; a failed write leaves the cursor where
 * it was, so the attempts are written on the next pass.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { freePort, useRedis } from '../../../test/helpers/redis-server.js'
import { QuasarAgent } from '../../src/index.js'
import { connectionOf } from '../queues/fixtures.js'
import { connected } from '../queues/agent-transport.js'
import { archivedRecords, attemptKeys } from './archive-fixtures.js'
import { expectedAttempts, jobRunner } from './bullmq-jobs.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const { server, redis } = await useRedis(t)
const runJobs = jobRunner(connectionOf(server.url))

t.test('an application Redis that is gone: errors go to onError, nothing is thrown or rejected', async (t) => {
  const errors: unknown[] = []
  const app = new Redis({ port: await freePort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
  app.on('error', () => {})
  t.teardown(() => app.disconnect())
  const agent = new QuasarAgent({ service: 'orphan', nodeId: 'n1', url: server.url, app, intervalMs: 60_000, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())
  agent.monitorQueue('nowhere', 'bullmq')
  await connected(agent)
  await agent.recordFinishedJobs()
  await agent.recordFinishedJobs()
  t.ok(
    errors.some((error) => /job recorder, queue nowhere/.test(String(error))),
    'reported with the queue named',
  )
  t.equal(await redis.exists('gravito:quasar:archive:orphan'), 0)
  t.same(unhandled, [])
})

t.test('passes asked for at once share one read; a failed write is retried from the same cursor', async (t) => {
  const agent = new QuasarAgent({ service: 'retry', nodeId: 'n1', url: server.url, intervalMs: 60_000, onError: () => {} })
  t.teardown(() => agent.stop())
  agent.monitorQueue('flaky', 'bullmq')
  await connected(agent)
  const ids = await runJobs(t, 'flaky', 24)

  // the archive key holds a string: every XADD of the MULTI fails, so nothing may move the cursor
  await redis.set('gravito:quasar:archive:retry', 'not a stream')
  const first = agent.recordFinishedJobs()
  t.equal(agent.recordFinishedJobs(), agent.recordFinishedJobs(), 'one pass in flight at a time')
  await first
  t.same(await redis.keys('gravito:quasar:recorder:retry:cursor:*'), [], 'no cursor after a failed write')
  await redis.del('gravito:quasar:archive:retry')
  await agent.recordFinishedJobs()
  t.same(attemptKeys(await archivedRecords(redis, 'retry')), expectedAttempts(ids), 'every attempt written on the next pass')
})
