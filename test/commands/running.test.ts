/**
 * A queue-wide command's `running` results, read by the collector with a fake clock: it stays
 * pending with the latest progress while its agent keeps writing, even past its expiry; it
 * expires once the agent has been quiet for RUNNING_QUIET_MS past the expiry, keeping the last
 * progress; and a `running` result dated in the future cannot keep it pending for ever.
 */
import t from 'tap'
import { ALL_FAILED_JOB_ID, COMMAND_TTL_MS, createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { fakeClock } from '../helpers/app.js'
import { EXPIRY_GRACE_MS, RUNNING_QUIET_MS } from '../../server/commands/collector-part.js'
import { startConsole } from './fixture.js'
import { createCommandSender } from '../../server/commands/sender.js'
import { createCommandStore } from '../../server/commands/store.js'
import { TOKEN } from './signed.js'

const keys = createKeys()

t.test('running keeps it pending with its progress; quiet past its expiry, it expires', async (t) => {
  const { server, redis } = await useRedis(t)
  const clock = fakeClock(Date.now())
  const app = await startConsole(t, { redisUrl: server.url, clock })
  const write = async () => {
    await redis.set(keys.node('billing', 'paging-1'), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'paging-1', service: 'billing' })), 'EX', 3600)
    await redis.set(
      keys.queues('billing'),
      JSON.stringify({ timestamp: clock(), service: 'billing', nodeId: 'paging-1', queues: [{ name: 'reports', driver: 'bullmq', metrics: { waiting: 0, failed: 900 }, commands: ['RETRY_ALL_FAILED'] }] }),
      'EX',
      3600,
    )
  }
  const sender = createCommandSender({ store: createCommandStore(app.redis, app.keys), clock, token: TOKEN, snapshot: () => app.collector.snapshot })
  const status = async () => {
    await write()
    await app.collector.refresh()
    const record = app.collector.snapshot.commands?.byId.get(id)
    return { status: record?.status, progress: record?.progress }
  }
  await write()
  await app.collector.refresh()
  const sent = await sender.sendConfirmed({ service: 'billing', nodeId: 'paging-1', queue: 'reports' }, 'RETRY_ALL_FAILED', { key: 'confirmation-1', countSeen: 900 }, 'olivia')
  if (!sent.ok) throw new Error(sent.message)
  const id = sent.command.id
  t.equal(sent.command.jobId, ALL_FAILED_JOB_ID)
  const running = (done: number, at: number) =>
    redis.set(keys.commandResult('billing', id), JSON.stringify({ id, status: 'running', progress: { done, total: 900, errors: 0 }, service: 'billing', nodeId: 'paging-1', finishedAt: at }))

  await running(100, clock())
  t.same(await status(), { status: 'pending', progress: { done: 100, total: 900, errors: 0 } })
  clock.advance(COMMAND_TTL_MS + EXPIRY_GRACE_MS + 1)
  await running(500, clock())
  t.same(await status(), { status: 'pending', progress: { done: 500, total: 900, errors: 0 } }, 'past its expiry, still writing progress: pending')
  clock.advance(RUNNING_QUIET_MS + EXPIRY_GRACE_MS - 1)
  t.equal((await status()).status, 'pending', 'quiet, but not for long enough yet')
  clock.advance(2)
  t.same(await status(), { status: 'expired', progress: { done: 500, total: 900, errors: 0 } }, 'then expired, with the last progress')
})

t.test('a running result dated in the future does not keep the command pending for ever', async (t) => {
  const { server, redis } = await useRedis(t)
  const clock = fakeClock(Date.now())
  const app = await startConsole(t, { redisUrl: server.url, clock })
  const write = async () => {
    await redis.set(keys.node('billing', 'paging-2'), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'paging-2', service: 'billing' })), 'EX', 3600)
    await redis.set(
      keys.queues('billing'),
      JSON.stringify({ timestamp: clock(), service: 'billing', nodeId: 'paging-2', queues: [{ name: 'reports', driver: 'bullmq', metrics: { waiting: 0, failed: 3 }, commands: ['DELETE_ALL_FAILED'] }] }),
      'EX',
      3600,
    )
  }
  await write()
  await app.collector.refresh()
  const sender = createCommandSender({ store: createCommandStore(app.redis, app.keys), clock, token: TOKEN, snapshot: () => app.collector.snapshot })
  const sent = await sender.sendConfirmed({ service: 'billing', nodeId: 'paging-2', queue: 'reports' }, 'DELETE_ALL_FAILED', { key: 'confirmation-2' }, 'olivia')
  if (!sent.ok) throw new Error(sent.message)
  const id = sent.command.id
  await redis.set(
    keys.commandResult('billing', id),
    JSON.stringify({ id, status: 'running', progress: { done: 1, total: 3, errors: 0 }, service: 'billing', nodeId: 'paging-2', finishedAt: clock() + 365 * 24 * 3600_000 }),
  )
  clock.advance(COMMAND_TTL_MS + RUNNING_QUIET_MS + EXPIRY_GRACE_MS + 1)
  await write()
  await app.collector.refresh()
  t.equal(app.collector.snapshot.commands?.byId.get(id)?.status, 'expired')
})
