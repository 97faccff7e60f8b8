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

t.test('a job that failed again after its retry shows as failed, not "Retried"', async (t) => {
  const { server: server, redis } = await useRedis(t)
  const clock = fakeClock(Date.now())
  const app = await startConsole(t, { redisUrl: server.url, clock })
  const firstFailure = clock() - 60_000
  let failedAt: Record<string, number> = { '7': firstFailure, '8': firstFailure }
  const write = async () => {
    await redis.set(keys.node('billing', 'busy-1'), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'busy-1', service: 'billing' })), 'EX', 3600)
    const failedJobs = Object.entries(failedAt).map(([id, timestamp]) => ({ id, timestamp }))
    await redis.set(
      keys.queues('billing'),
      JSON.stringify({ timestamp: clock(), service: 'billing', nodeId: 'busy-1', queues: [{ name: 'reports', driver: 'bullmq', metrics: { waiting: 0, failed: failedJobs.length }, failedJobs }] }),
      'EX',
      3600,
    )
  }
  await write()
  const retry = (jobId: string) => ({
    method: 'POST' as const,
    url: '/api/pulse/command',
    headers: JSON_HEADERS,
    payload: JSON.stringify({ service: 'billing', nodeId: 'busy-1', type: 'RETRY_JOB', queue: 'reports', jobId }),
  })
  const ids: Record<string, string> = {}
  await eventually(async () => {
    await app.collector.refresh()
    const answer = await app.inject(retry('7'))
    if (answer.statusCode === 202) ids['7'] = (answer.json() as { id: string }).id
    return answer.statusCode === 202
  }, 'the retry of 7 is sent')
  ids['8'] = ((await app.inject(retry('8'))).json() as { id: string }).id
  // the agent retried both (in the order the stream holds them) and wrote ok
  clock.advance(1_000)
  const retriedAt = clock()
  for (const id of Object.values(ids)) await redis.set(keys.commandResult('billing', id), JSON.stringify({ id, status: 'ok', service: 'billing', nodeId: 'busy-1', finishedAt: retriedAt }))
  const rowOf = async (jobId: string) => {
    await write()
    await app.collector.refresh()
    const html = (await app.inject('/queues/billing/reports/fragments/failed')).body
    const row = html.split('<li class="job">').find((part) => part.includes(`<code class="job-id" title="job id">${jobId}</code>`)) ?? ''
    return { status: /data-status="(\w+)"/.exec(row)?.[1] ?? null, retried: row.includes('Retried'), buttons: row.includes(`Retry job ${jobId}`) }
  }
  t.same(await rowOf('7'), { status: 'ok', retried: true, buttons: false }, 'retried, and the agent still lists the old failure: "Retried"')

  // job 7 ran again and failed again; job 8's report still shows the failure the retry answered
  clock.advance(2_000)
  failedAt = { '7': clock(), '8': firstFailure }
  t.same(await rowOf('7'), { status: null, retried: false, buttons: true }, 'failed again: shown failed, with its buttons')
  t.same(await rowOf('8'), { status: 'ok', retried: true, buttons: false }, 'the other job still shows its retry')
})
