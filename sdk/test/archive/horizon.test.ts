/**
 * Laravel queues under Horizon: jobs pushed, reserved and finished the way Laravel's scripts and
 * Horizon's repository write them (laravel-writer.ts), recorded from `completed_jobs` and
 * `failed_jobs` since the cursor: each queue its own jobs, once, with Horizon's times, the
 * payload's attempt count and PHP's exception text, including jobs finishing at the same
 * microtime across two reads.
 */
import t from 'tap'
import type { Redis } from 'ioredis'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { QuasarAgent } from '../../src/index.js'
import { laravelWriter, microtime, payload, phpException, type LaravelPayload } from '../queues/laravel-writer.js'
import { connected } from '../queues/agent-transport.js'
import { archivedRecords, attemptKeys, duplicates } from './archive-fixtures.js'

const { server, redis } = await useRedis(t)
const writer = laravelWriter(redis, { prefix: 'laravel_database_' })
// recent: Horizon sets completed jobs to expire an hour after they finish
const T0 = Date.now() - 30 * 60_000

/** Horizon's RedisJobRepository::pushed (StoreJob on JobPushed). */
async function pushed(redis: Redis, queue: string, job: LaravelPayload, atMs: number): Promise<void> {
  await redis
    .pipeline()
    .zadd('laravel_horizon:recent_jobs', `-${microtime(atMs)}`, job.id)
    .zadd('laravel_horizon:pending_jobs', `-${microtime(atMs)}`, job.id)
    .hmset(`laravel_horizon:${job.id}`, { id: job.id, connection: 'redis', queue, name: job.displayName, status: 'pending', payload: JSON.stringify(job), created_at: microtime(atMs), updated_at: microtime(atMs) })
    .exec()
}

/** Pushes, reserves `tries` times (a release in between) and finishes one job; returns what a record must say. */
async function runJob(queue: string, n: number, outcome: 'completed' | 'failed', tries: number, finishedAt: number): Promise<string> {
  const pushedAt = T0 + n * 10
  const job = payload(`App\\Jobs\\Send${queue}`, pushedAt, { data: { commandName: `App\\Jobs\\Send${queue}`, command: `O:8:"Send":1:{s:8:"password";s:6:"secret";}`, batchId: null } })
  await pushed(redis, queue, job, pushedAt)
  await writer.push(queue, job)
  let reserved: LaravelPayload = job
  for (let attempt = 1; attempt <= tries; attempt++) {
    const [, raw] = await writer.pop(queue, Math.floor(finishedAt / 1000) + 90)
    reserved = JSON.parse(raw!) as LaravelPayload
    await writer.reserved(job.id, raw!, finishedAt - 500)
    if (attempt < tries) {
      // Laravel's release: back on the list (the reserved entry is dropped in a real worker too)
      await redis.zrem(`${writer.queueKey(queue)}:reserved`, raw!)
      await writer.push(queue, reserved)
    }
  }
  await redis.zrem(`${writer.queueKey(queue)}:reserved`, JSON.stringify(reserved))
  if (outcome === 'completed') await writer.finish(reserved, false, finishedAt)
  else await writer.fail(queue, reserved, phpException(`mail ${n} bounced`), finishedAt)
  return `${job.id}#${tries} ${outcome}`
}

t.test('Horizon queues: every finished job of each queue recorded once, across reads and equal times', async (t) => {
  const expected: Record<string, string[]> = { emails: [], reports: [] }
  // 250 finishing in pairs at the same microtime, so a read of 200 ends between equal scores
  for (let n = 0; n < 250; n++) {
    const queue = n % 5 === 0 ? 'reports' : 'emails'
    const outcome = n % 3 === 0 ? 'failed' : 'completed'
    expected[queue]!.push(await runJob(queue, n, outcome, (n % 3) + 1, T0 + 60_000 + Math.floor(n / 2) * 7))
  }
  const agent = new QuasarAgent({ service: 'laravel-app', nodeId: 'n1', url: server.url, intervalMs: 60_000 })
  t.teardown(() => agent.stop())
  agent.monitorQueue('emails', 'laravel', { prefix: 'laravel_database_' })
  agent.monitorQueue('reports', 'laravel', { prefix: 'laravel_database_' })
  await connected(agent)
  for (let n = 0; n < 3; n++) await agent.recordFinishedJobs()

  const records = await archivedRecords(redis, 'laravel-app')
  t.same(duplicates(records), [])
  t.same(attemptKeys(records.filter((record) => record.queue === 'emails')), expected.emails!.sort(), 'the emails queue, each job once')
  t.same(attemptKeys(records.filter((record) => record.queue === 'reports')), expected.reports!.sort(), 'the reports queue, each job once')

  const failed = records.find((record) => record.state === 'failed' && record.queue === 'emails')!
  t.match(failed.failedReason, /^RuntimeException: mail \d+ bounced in \/var\/www\/app\/Jobs\/SendInvoice\.php:42$/, 'the reason is the exception line')
  t.match(failed.stack, /Stack trace:\n#0 /, 'the stack is the exception text')
  t.equal(failed.driver, 'laravel')
  t.equal(failed.name, 'App\\Jobs\\Sendemails')
  t.equal(failed.durationMs, 500, 'from reserved_at to failed_at')
  t.ok(failed.waitMs! > 0, 'from the push to the reservation')
  const data = JSON.parse(failed.data!)
  t.equal(data.commandName, 'App\\Jobs\\Sendemails', "the payload's data")

  // later jobs: read from the cursor, nothing again
  const later = [await runJob('emails', 300, 'completed', 1, T0 + 600_000), await runJob('emails', 301, 'failed', 2, T0 + 600_001)]
  await agent.recordFinishedJobs()
  const all = await archivedRecords(redis, 'laravel-app')
  t.same(duplicates(all), [])
  t.same(attemptKeys(all.slice(records.length)), later.sort(), 'only the jobs finished since')
})
