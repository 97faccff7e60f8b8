/**
 * A failed job's row on the queue page shows the job's last command (pending, then how it ended)
 * instead of its buttons, on every render of the polled list, until the command has been over for
 * ROW_STATUS_MS; then the buttons come back if the agent still lists the job.
 */
import t from 'tap'
import { COMMAND_TTL_MS, createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { fakeClock } from '../helpers/app.js'
import { EXPIRY_GRACE_MS } from '../../server/commands/collector-part.js'
import { ROW_STATUS_MS } from '../../server/commands/service.js'
import { JSON_HEADERS, startConsole } from './fixture.js'

const keys = createKeys()

t.test('pending, then expired, then the buttons again', async (t) => {
  const { server: server, redis } = await useRedis(t)
  const clock = fakeClock(Date.now())
  const app = await startConsole(t, { redisUrl: server.url, clock })
  // a node that lists two failed jobs and never reads its command stream
  const write = async () => {
    await redis.set(keys.node('billing', 'quiet-1'), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'quiet-1', service: 'billing' })), 'EX', 3600)
    await redis.set(
      keys.queues('billing'),
      JSON.stringify({ timestamp: clock(), service: 'billing', nodeId: 'quiet-1', queues: [{ name: 'reports', driver: 'bullmq', metrics: { waiting: 0, failed: 2 }, failedJobs: [{ id: '7' }, { id: '8' }] }] }),
      'EX',
      3600,
    )
  }
  await write()
  const command = { method: 'POST' as const, url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service: 'billing', nodeId: 'quiet-1', type: 'RETRY_JOB', queue: 'reports', jobId: '7' }) }
  await eventually(async () => {
    await app.collector.refresh()
    return (await app.inject(command)).statusCode === 202
  }, 'the command is sent')
  const rows = async () => {
    await write()
    await app.collector.refresh()
    const html = (await app.inject('/queues/billing/reports/fragments/failed')).body
    return { seven: /data-status="(\w+)"/.exec(html)?.[1] ?? null, sevenButtons: html.includes('Retry job 7'), eightButtons: html.includes('Retry job 8') }
  }

  t.same(await rows(), { seven: 'pending', sevenButtons: false, eightButtons: true }, 'job 7 shows its pending command; job 8 keeps its buttons')
  clock.advance(COMMAND_TTL_MS + EXPIRY_GRACE_MS + 1)
  t.same(await rows(), { seven: 'expired', sevenButtons: false, eightButtons: true }, 'then how it ended')
  clock.advance(ROW_STATUS_MS - 1)
  t.same(await rows(), { seven: 'expired', sevenButtons: false, eightButtons: true }, 'for a while')
  clock.advance(2)
  t.same(await rows(), { seven: null, sevenButtons: true, eightButtons: true }, 'then the buttons are back')
})
