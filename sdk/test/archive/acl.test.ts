/**
 * An agent logged in with the documented agent ACL line (docs/security.md) records finished jobs:
 * its lease, cursor and archive stream are its own service's keys, and no other service's.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { documentedAclLines, documentedUserUrl, setUserArgs } from '../../../test/helpers/documented-acl.js'
import { createKeys } from '../../src/protocol/index.js'
import { QuasarAgent } from '../../src/index.js'
import { connectionOf } from '../queues/fixtures.js'
import { connected } from '../queues/agent-transport.js'
import { archivedRecords, attemptKeys, duplicates } from './archive-fixtures.js'
import { expectedAttempts, jobRunner } from './bullmq-jobs.js'

const { server, redis: admin } = await useRedis(t)
const runJobs = jobRunner(connectionOf(server.url))
for (const line of documentedAclLines) await admin.call('ACL', 'SETUSER', ...setUserArgs(line))
const keys = createKeys()

t.test('the documented agent user records every attempt, and is refused at the recorder keys of other services', async (t) => {
  const errors: unknown[] = []
  // the queues live in the application's Redis, reached with the application's own rights
  const app = new Redis(server.url)
  t.teardown(() => app.quit())
  const agent = new QuasarAgent({ service: 'billing', nodeId: 'web-1', url: documentedUserUrl(server.url, 'agent-billing'), app, intervalMs: 60_000, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())
  agent.monitorQueue('invoices', 'bullmq')
  await connected(agent)
  const ids = await runJobs(t, 'invoices', 40)
  for (let n = 0; n < 3; n++) await agent.recordFinishedJobs()
  t.same(errors.map(String), [], 'no permission error')
  const records = await archivedRecords(admin, 'billing')
  t.same(duplicates(records), [])
  t.same(attemptKeys(records), expectedAttempts(ids))
  t.equal((await admin.keys(keys.recorderCursor('billing', '*'))).length, 1, 'the cursor, under the service')

  const asAgent = new Redis(documentedUserUrl(server.url, 'agent-billing'))
  t.teardown(() => asAgent.quit())
  await t.rejects(asAgent.xadd(keys.archive('payments'), '*', 'v', '1'), /NOPERM/, "another service's archive")
  await t.rejects(asAgent.set(keys.recorderLease('payments', 'bullmq-x'), 'me', 'PX', 1000, 'NX'), /NOPERM/, "another service's lease")
  await t.rejects(asAgent.del(keys.recorderCursor('payments', 'bullmq-x')), /NOPERM/, "another service's cursor")
})
