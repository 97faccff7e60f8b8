/**
 * Two console replicas on a real 3-master Cluster (Redis and Valkey), with a real agent (the SDK
 * with `cluster: true`) watching a real BullMQ queue under `{bull}`: commands sent through one
 * replica are executed by the agent, answered on the other, and audited once; and when the
 * sending replica stops with commands still pending, the other finishes them.
 */
import t, { type Test } from 'tap'
import { Queue } from 'bullmq'
import { Cluster } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { startPulse } from '@gravito/quasar'
import { ENGINES } from '../helpers/redis-server.js'
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js'
import { buildTestApp } from '../helpers/app.js'
import { JSON_HEADERS, waitForFailed, waitForFinal } from '../commands/fixture.js'
import { eventually } from '../helpers/eventually.js'
import { TOKEN } from '../commands/signed.js'
import { failedOnCluster } from '../../sdk/test/cluster/cluster-fixtures.js'

const QUEUE = 'invoices'
const target = { service: 'billing', name: QUEUE }

for (const engine of ENGINES) {
  t.test(engine, async (t) => {
    const cluster = await startRedisCluster(3, { engine })
    t.teardown(() => cluster.stop())
    // the application's own Cluster client, as BullMQ's workers need it
    const app = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: null } })
    app.on('error', () => {})
    t.teardown(() => app.disconnect())

    const replica = (t: Test) => consoleOn(t, cluster)
    const agentOn = (t: Test, nodeId: string) => {
      const agent = startPulse({ service: 'billing', nodeId, url: cluster.url, cluster: true, app, token: TOKEN, intervalMs: 300 })
      t.teardown(() => agent.stop())
      agent.monitorQueue(QUEUE, 'bullmq', { prefix: '{bull}' })
      return agent
    }
    const send = async (t: Test, on: FastifyInstance, nodeId: string, type: 'RETRY_JOB' | 'DELETE_JOB', jobId: string) => {
      const answer = await on.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service: 'billing', nodeId, type, queue: QUEUE, jobId }) })
      t.equal(answer.statusCode, 202, `${type} ${jobId} accepted${answer.statusCode === 202 ? '' : `: ${answer.body}`}`)
      return (answer.json() as { id: string }).id
    }
    const loggedTimes = async (on: FastifyInstance, id: string) => (await on.redis.xrange(on.keys.auditLog(), '-', '+')).filter(([, fields]) => fields[1]!.includes(`"id":"${id}"`)).length

    t.test('sent through one replica, answered and audited once on the other', async (t) => {
      const queue = new Queue(QUEUE, { connection: app, prefix: '{bull}' })
      t.teardown(() => queue.close())
      const failed = await failedOnCluster(queue, 6)
      const [one, two] = [await replica(t), await replica(t)]
      agentOn(t, 'worker-1')
      await readyFor(one, 'worker-1', 6)
      await readyFor(two, 'worker-1', 6)

      const [retried, deleted] = [failed.slice(0, 3), failed.slice(3)]
      // retries through one replica, deletes through the other; each answer read on the replica that did not send it
      const retries = await Promise.all(retried.map((jobId) => send(t, one, 'worker-1', 'RETRY_JOB', jobId)))
      const deletes = await Promise.all(deleted.map((jobId) => send(t, two, 'worker-1', 'DELETE_JOB', jobId)))
      for (const id of retries) t.match(await waitForFinal(two, id), { status: 'ok' }, `${id} ok, seen on the other replica`)
      for (const id of deletes) t.match(await waitForFinal(one, id), { status: 'ok' }, `${id} ok, seen on the other replica`)
      const ids = [...retries, ...deletes]
      for (const id of ids) t.equal(await loggedTimes(one, id), 1, `${id} audited once`)
      for (const jobId of retried) t.equal(await (await queue.getJob(jobId))?.getState(), 'waiting', `${jobId} waiting again`)
      for (const jobId of deleted) t.equal(await queue.getJob(jobId), undefined, `${jobId} deleted`)
      // both replicas list the same commands, each once
      const listed = async (on: FastifyInstance) => ((await on.inject('/api/pulse/audit')).json() as { commands: { id: string }[] }).commands.map((c) => c.id).filter((id) => ids.includes(id))
      await one.collector.refresh()
      await two.collector.refresh()
      t.same((await listed(one)).sort(), [...ids].sort())
      t.same((await listed(two)).sort(), [...ids].sort())
    })

    t.test('the sending replica stops with commands pending: the other finishes them', async (t) => {
      const queue = new Queue(QUEUE, { connection: app, prefix: '{bull}' })
      t.teardown(() => queue.close())
      await queue.obliterate({ force: true })
      const failed = await failedOnCluster(queue, 3)
      const [sender, left] = [await replica(t), await replica(t)]
      const first = agentOn(t, 'worker-2')
      await readyFor(sender, 'worker-2', 3)
      // the agent is away while the commands are sent, so they are still pending when the sender stops
      await first.stop()
      const ids = await Promise.all(failed.map((jobId) => send(t, sender, 'worker-2', 'DELETE_JOB', jobId)))
      await sender.close()
      await left.collector.refresh()
      for (const id of ids) t.equal(((await left.inject(`/api/pulse/command/${id}`)).json() as { status: string }).status, 'pending', `${id} pending on the replica left`)

      agentOn(t, 'worker-2')
      for (const id of ids) t.match(await waitForFinal(left, id), { status: 'ok' }, `${id} finished on the replica left`)
      for (const id of ids) t.equal(await loggedTimes(left, id), 1, `${id} audited once`)
      for (const jobId of failed) t.equal(await queue.getJob(jobId), undefined, `${jobId} deleted`)
    })
  })
}

/**
 * Until a replica's snapshot holds the agent's node and its queue's failed jobs: a command is
 * refused (404) for a node the console has not read yet, and the queue, named in an earlier
 * heartbeat, can be read a tick before the node that now writes it.
 */
async function readyFor(app: FastifyInstance, nodeId: string, failed: number): Promise<void> {
  await waitForFailed(app, target, failed)
  await eventually(async () => (await app.collector.refresh()).nodes.some((node) => node.service === target.service && node.nodeId === nodeId && node.keyPresent), `${nodeId} in the snapshot`)
}

async function consoleOn(t: Test, cluster: TestCluster): Promise<FastifyInstance> {
  const app = await buildTestApp({ redisUrl: cluster.url, redisCluster: true, quasarToken: TOKEN })
  t.teardown(() => app.close())
  return app
}
