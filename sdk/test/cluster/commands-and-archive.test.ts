/**
 * Agents on a real 3-master Redis Cluster (Redis and Valkey) logged in as the documented agent
 * user (docs/security.md, run on every master: ACL users are per node), with their BullMQ queues
 * under `{bull}` in the application's Cluster: signed RETRY_JOB, DELETE_JOB and LIST_JOBS
 * commands, delivered as the console delivers them, are executed on real failed jobs; two nodes
 * sharing a queue record every finished attempt once in the archive; and the agent user is
 * still refused at another service's keys.
 */
import t, { type Test } from 'tap'
import { Queue, Worker } from 'bullmq'
import { Cluster, Redis } from 'ioredis'
import { ENGINES } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { documentedAclLines, documentedUserUrl, setUserArgs } from '../../../test/helpers/documented-acl.js'
import { TOKEN, unsignedCommand } from '../../../test/commands/signed.js'
import { COMMAND_FIELD, createKeys, readCommandResult, readListJobsResult, signCommand, startPulse, type CommandResult, type UnsignedCommand } from '../../src/index.js'
import { archivedRecords, attemptKeys, duplicates } from '../archive/archive-fixtures.js'
import { expectedAttempts, jobRunner } from '../archive/bullmq-jobs.js'
import type { TestCluster } from '../../../test/helpers/redis-cluster.js'
import { appCluster, failedOnCluster, snapshotOf, useCluster } from './cluster-fixtures.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const keys = createKeys()

for (const engine of ENGINES) {
  t.test(engine, async (t) => {
    const { cluster, admin } = await useCluster(t, engine)
    await applyDocumentedAcl(cluster)
    const app = appCluster(t, cluster)
    const agentUrl = documentedUserUrl(cluster.url, 'agent-billing')

    function agentOn(t: Test, nodeId: string, queues: string[]) {
      const errors: unknown[] = []
      const agent = startPulse({ service: 'billing', nodeId, url: agentUrl, cluster: true, app, token: TOKEN, intervalMs: 300, onError: (error) => void errors.push(error) })
      t.teardown(() => agent.stop())
      for (const name of queues) agent.monitorQueue(name, 'bullmq', { prefix: '{bull}' })
      return { agent, errors }
    }

    /** What the console does: XADD to the node's stream, PUBLISH on its channel. */
    async function send(command: UnsignedCommand): Promise<string> {
      const signed = signCommand(command, TOKEN)
      await admin.xadd(keys.commandStream(command.service, command.nodeId), '*', COMMAND_FIELD, JSON.stringify(signed))
      await admin.publish(keys.commandChannel(command.service, command.nodeId), JSON.stringify({ type: 'wake' }))
      return signed.id
    }

    async function resultOf(id: string): Promise<CommandResult> {
      let result: CommandResult | null = null
      await eventually(async () => (result = readCommandResult(await admin.get(keys.commandResult('billing', id)))) !== null && result.status !== 'running', `a result for ${id}`)
      return result!
    }

    t.test('signed retry, delete and list commands run on {bull} queues, as the documented agent user', async (t) => {
      const queue = new Queue('invoices', { connection: app, prefix: '{bull}' })
      t.teardown(() => queue.close())
      const failed = await failedOnCluster(queue, 8)
      const { errors } = agentOn(t, 'worker-1', ['invoices'])
      await eventually(async () => (await snapshotOf(admin, 'billing').catch(() => null))?.queues[0]?.metrics.failed === 8, 'the snapshot shows 8 failed jobs')

      const [retried, deleted, kept] = [failed.slice(0, 3), failed.slice(3, 6), failed.slice(6)]
      const target = { service: 'billing', nodeId: 'worker-1', queue: 'invoices' }
      // interleaved, so retries and deletes come in the same reads of the stream
      const sent = await Promise.all(retried.flatMap((jobId, n) => [send(unsignedCommand({ ...target, type: 'RETRY_JOB', jobId })), send(unsignedCommand({ ...target, type: 'DELETE_JOB', jobId: deleted[n]! }))]))
      for (const id of sent) t.match(await resultOf(id), { status: 'ok', nodeId: 'worker-1' }, `command ${id}`)
      for (const jobId of retried) t.equal(await (await queue.getJob(jobId))?.getState(), 'waiting', `${jobId} retried: waiting again`)
      for (const jobId of deleted) t.equal(await queue.getJob(jobId), undefined, `${jobId} deleted`)
      for (const jobId of kept) t.equal(await (await queue.getJob(jobId))?.getState(), 'failed', `${jobId} left alone`)

      const list = await send(unsignedCommand({ ...target, type: 'LIST_JOBS', jobId: 'list:failed:1' }))
      await resultOf(list)
      const answer = readListJobsResult((await admin.get(keys.commandResult('billing', list)))!)
      t.ok(answer.ok, 'a LIST_JOBS answer')
      if (answer.ok) t.match(answer.result, { status: 'ok', answer: { kind: 'page', total: kept.length } })
      if (answer.ok && answer.result.answer?.kind === 'page') t.same(answer.result.answer.jobs.map((job) => job.id).sort(), [...kept].sort(), 'the jobs still failed')

      // a worker picks the retried jobs up: the marker the retry script set woke it
      const worker = new Worker('invoices', async (job) => job.id, { connection: app, prefix: '{bull}' })
      worker.on('error', () => {})
      t.teardown(() => worker.close())
      await eventually(async () => (await queue.getCompletedCount()) === retried.length, 'the retried jobs completed')
      t.same(
        errors.filter((error) => /NOPERM|CROSSSLOT/.test(String(error))),
        [],
        'no permission or cross-slot error',
      )
    })

    t.test('two nodes sharing a queue archive every finished attempt once', async (t) => {
      const runJobs = jobRunner(app)
      const nodes = [agentOn(t, 'worker-2', ['payments']), agentOn(t, 'worker-3', ['payments'])]
      const ids = await runJobs(t, 'payments', 40, {}, { prefix: '{bull}' })
      // the service's stream also holds the invoices of the test before
      const payments = async () => (await archivedRecords(admin, 'billing')).filter((record) => record.queue === 'payments')
      await eventually(async () => (await payments()).length >= expectedAttempts(ids).length, 'every attempt archived', 60_000, 300)
      for (const { agent } of nodes) await agent.recordFinishedJobs()
      const records = await payments()
      t.same(duplicates(records), [], 'no attempt twice')
      t.same(attemptKeys(records), expectedAttempts(ids), 'every attempt')
      t.same(
        nodes.flatMap(({ errors }) => errors.filter((error) => /NOPERM|CROSSSLOT/.test(String(error)))),
        [],
      )
    })

    t.test('the agent user is refused at other services’ keys on every master', async (t) => {
      const asAgent = new Cluster(cluster.nodes, { redisOptions: { username: 'agent-billing', password: 'agent-billing-secret' } })
      asAgent.on('error', () => {})
      t.teardown(() => asAgent.disconnect())
      // keys chosen so that together they sit on every master
      for (const service of ['payments', 'mailer', 'search', 'shipping', 'ledger']) {
        await t.rejects(asAgent.set(keys.node(service, 'n1'), '{}'), /NOPERM/, `${service}'s heartbeat`)
        await t.rejects(asAgent.xadd(keys.archive(service), '*', 'v', '1'), /NOPERM/, `${service}'s archive`)
      }
      await t.rejects(asAgent.xadd(keys.commandStream('billing', 'worker-1'), '*', COMMAND_FIELD, '{}'), /NOPERM/, 'its own command stream is read-only')
    })
  })
}

t.test('no unhandled rejection', async (t) => {
  t.same(unhandled, [])
})

/** The documented lines on every master: a Cluster does not share ACL users between nodes. */
async function applyDocumentedAcl(cluster: TestCluster): Promise<void> {
  for (const server of cluster.servers) {
    const node = new Redis(server.url)
    try {
      for (const line of documentedAclLines) await node.call('ACL', 'SETUSER', ...setUserArgs(line))
    } finally {
      node.disconnect()
    }
  }
}
