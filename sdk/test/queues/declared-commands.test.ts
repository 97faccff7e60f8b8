/**
 * The SDK declares, in each queue snapshot entry, the commands it executes for that queue: what
 * the queue's probe implements when the agent executes commands (on, with a token), nothing when
 * it does not, and the same whether a probe read succeeded or failed. Read back through the
 * console's own rule, so the two cannot drift apart.
 */
import t from 'tap'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { readQueueSnapshot, type ReadQueueSnapshot } from '../../src/protocol/index.js'
import { QuasarAgent } from '../../src/index.js'
import { agentQueueCapability } from '../../../server/queues/capability.js'

const { server: server, redis } = await useRedis(t)
delete process.env.QUASAR_TOKEN

async function snapshotAfterBeat(options: { service: string; token?: string; commands?: boolean }): Promise<ReadQueueSnapshot> {
  const agent = new QuasarAgent({
    service: options.service,
    nodeId: 'n1',
    url: server.url,
    intervalMs: 60_000,
    ...(options.token ? { token: options.token } : {}),
    ...(options.commands === undefined ? {} : { commands: options.commands }),
  })
  agent.monitorQueue('emails', 'bullmq').monitorQueue('default', 'laravel').monitorQueue('imports', 'redis-list', { key: 'jobs:import' }).monitorQueue('broken', 'bullmq')
  await eventually(() => agent.transport.status === 'ready', 'connected')
  t.equal(await agent.beat(), true)
  await agent.stop()
  const read = readQueueSnapshot(JSON.parse((await redis.get(`gravito:quasar:queues:${options.service}`))!))
  if (!read.ok) throw new Error(read.error)
  return read.value
}

// Laravel's failed jobs stay in Horizon's shared set after a retry: it declares no queue-wide command
// BullMQ queues also answer the read-only LIST_JOBS, which the console never offers as an action
const BULLMQ_COMMANDS = ['RETRY_JOB', 'DELETE_JOB', 'RETRY_ALL_FAILED', 'DELETE_ALL_FAILED', 'LIST_JOBS']
const commandsOf = (snapshot: ReadQueueSnapshot) => Object.fromEntries(snapshot.queues.map((queue) => [queue.name, queue.commands]))

t.test('with a token: each queue lists what its probe executes, a failed probe too', async (t) => {
  await redis.flushall()
  await redis.set('bull:broken:wait', 'not a list')
  const snapshot = await snapshotAfterBeat({ service: 'with-token', token: 'sdk-declares-0123456789' })
  t.ok(snapshot.queues.find((queue) => queue.name === 'broken')?.error, 'the broken probe reports an error')
  t.same(commandsOf(snapshot), { emails: BULLMQ_COMMANDS, default: ['RETRY_JOB', 'DELETE_JOB', 'LIST_JOBS'], imports: [], broken: BULLMQ_COMMANDS })
  // what the console makes of it
  for (const queue of snapshot.queues) {
    const capability = agentQueueCapability(queue, snapshot.nodeId, snapshot.nodeId)
    t.same([...capability.commands, ...(capability.listsJobs ? ['LIST_JOBS'] : [])], queue.commands, `${queue.name}: offered as declared`)
    t.equal(capability.listsJobs === true, queue.commands?.includes('LIST_JOBS'), `${queue.name}: listed by asking its agent exactly when declared`)
    t.same(capability.skips, [])
  }
  t.equal(agentQueueCapability(snapshot.queues[2]!, 'n1', 'n1').readOnlyReason, 'its agent declares no commands for it', 'a list: read-only, and why')
})

t.test('without a token, or with commands off: nothing declared, so no button would end rejected', async (t) => {
  for (const options of [{ service: 'no-token' }, { service: 'commands-off', token: 'sdk-declares-0123456789', commands: false }]) {
    await redis.flushall()
    const snapshot = await snapshotAfterBeat(options)
    t.same(commandsOf(snapshot), { emails: [], default: [], imports: [], broken: [] }, options.service)
  }
})
