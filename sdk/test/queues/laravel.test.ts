/**
 * The Laravel probe against keys written as Laravel and Horizon write them (see laravel-writer.ts):
 * counts, the oldest waiting age, Horizon's failed jobs of one queue, and retry/delete checked by
 * popping the retried job with Laravel's own pop script.
 */
import t from 'tap'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { snapshotQueueSchema } from '../../src/protocol/index.js'
import { createLaravelProbe } from '../../src/queues/laravel.js'
import { laravelWriter, microtime, payload, phpException, type LaravelPayload } from './laravel-writer.js'

const { redis } = await useRedis(t)

// whole seconds, near the real time: Horizon's records expire relative to the real clock
const NOW = Math.floor(Date.now() / 1000) * 1000

function probeOf(name: string, options: { prefix?: string; horizonPrefix?: string; failedPageSize?: number; now?: number } = {}) {
  return createLaravelProbe(name, {
    redis,
    prefix: options.prefix ?? '',
    horizonPrefix: options.horizonPrefix ?? 'laravel_horizon:',
    failedPageSize: options.failedPageSize ?? 20,
    now: () => options.now ?? NOW,
  })
}

/** A job pushed, reserved by a worker (attempts 1) and failed, as Horizon records it. */
async function failed(writer: ReturnType<typeof laravelWriter>, queue: string, name: string, message: string, atMs: number, extra: Partial<LaravelPayload> = {}) {
  await writer.push(queue, payload(name, atMs - 5000, extra))
  const [, reserved] = await writer.pop(queue, Math.floor(atMs / 1000) + 60)
  const job = JSON.parse(reserved!) as LaravelPayload
  await redis.zrem(`${writer.queueKey(queue)}:reserved`, reserved!)
  await writer.fail(queue, job, phpException(message), atMs)
  return job
}

t.test('counts: waiting list, reserved as active, delayed; the oldest waiting age from pushedAt', async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  await writer.push('default', payload('App\\Jobs\\SendInvoice', NOW - 42_000))
  await writer.push('default', payload('App\\Jobs\\SendInvoice', NOW - 10_000))
  await writer.push('default', payload('App\\Jobs\\SendInvoice', NOW - 5_000))
  await writer.later('default', NOW / 1000 + 600, payload('App\\Jobs\\Remind', NOW))
  // a worker reserves the oldest: the next one becomes the head
  const [popped] = await writer.pop('default', NOW / 1000 + 90)
  t.equal((JSON.parse(popped!) as LaravelPayload).pushedAt, microtime(NOW - 42_000), 'the oldest was popped')

  const entry = await probeOf('default').probe()
  t.ok(snapshotQueueSchema.safeParse(entry).success)
  t.same(entry.metrics, { waiting: 2, active: 1, delayed: 1 })
  t.equal(entry.oldestWaitingMs, 10_000, 'from the head of the list')
  t.equal(entry.failedJobs, undefined, 'no Horizon, no failed jobs')
  t.equal(entry.metrics.failed, undefined, 'and no failed count rather than a made-up zero')
})

t.test('createdAt is used when there is no pushedAt (Laravel without Horizon)', async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  const job = payload('App\\Jobs\\Plain', NOW - 30_000) as Partial<LaravelPayload>
  delete job.pushedAt
  delete job.type
  delete job.tags
  await writer.push('plain', JSON.stringify(job))
  t.equal((await probeOf('plain').probe()).oldestWaitingMs, 30_000)
})

t.test('the connection prefix (laravel_database_) and a custom Horizon prefix', async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis, { prefix: 'laravel_database_', horizonPrefix: 'billing_horizon:' })
  await writer.push('emails', payload('App\\Jobs\\Mail', NOW - 1000))
  await failed(writer, 'emails', 'App\\Jobs\\Mail', 'SMTP timeout', NOW - 500)
  const entry = await probeOf('emails', { prefix: 'laravel_database_', horizonPrefix: 'billing_horizon:' }).probe()
  t.same(entry.metrics, { waiting: 1, active: 0, delayed: 0, failed: 1 })
  t.equal((await probeOf('emails').probe()).metrics.waiting, 0, 'nothing under the bare names')
})

t.test("Horizon's failed jobs: only this queue's, newest first, with reason, trace, attempts, time and payload", async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  const older = await failed(writer, 'emails', 'App\\Jobs\\SendInvoice', 'SMTP timeout', NOW - 60_000)
  await failed(writer, 'reports', 'App\\Jobs\\BuildReport', 'out of memory', NOW - 30_000)
  const newer = await failed(writer, 'emails', 'App\\Jobs\\SendWelcome', 'mailbox full', NOW - 10_000)
  await redis.zadd('laravel_horizon:masters', NOW / 1000, 'host-1') // Horizon running (MasterSupervisorRepository)

  const entry = await probeOf('emails').probe()
  t.equal(entry.metrics.failed, 2, 'the other queue is not counted')
  t.same(
    entry.failedJobs!.map((job) => job.id),
    [newer.id, older.id],
  )
  const [first] = entry.failedJobs!
  t.equal(first!.name, 'App\\Jobs\\SendWelcome')
  t.equal(first!.failedReason, 'RuntimeException: mailbox full in /var/www/app/Jobs/SendInvoice.php:42')
  t.match(first!.stacktrace![0], /^RuntimeException: mailbox full[\s\S]*#1 \{main\}$/)
  t.equal(first!.attemptsMade, 1)
  t.equal(first!.timestamp, NOW - 10_000)
  t.same(JSON.parse(first!.data!), newer, 'the payload as Horizon stored it')

  const reports = await probeOf('reports').probe()
  t.equal(reports.metrics.failed, 1)
})

t.test('Horizon present with no failed jobs: failed is 0', async (t) => {
  await redis.flushall()
  await redis.zadd('laravel_horizon:masters', Date.now(), 'host-1')
  const entry = await probeOf('default').probe()
  t.equal(entry.metrics.failed, 0)
  t.same(entry.failedJobs, [])
})

t.test("retry does to Horizon's records what Horizon's RetryFailedJob does, and Laravel's pop takes the job", async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  const job = await failed(writer, 'emails', 'App\\Jobs\\SendInvoice', 'SMTP timeout', NOW - 60_000, {
    retryUntil: Math.floor((NOW - 65_000) / 1000) + 3600,
    type: 'mail',
    tags: ['invoice:42', 'customer:7'],
    silenced: true,
  })
  await redis.zadd('laravel_horizon:masters', NOW / 1000, 'host-1')
  await redis.sadd('laravel_horizon:monitoring', 'invoice:42')
  const failedBefore = await redis.hgetall(`laravel_horizon:${job.id}`)
  const probe = probeOf('emails')
  await probe.retryJob!(job.id)

  // the failed job: still in failed_jobs, its record untouched but for retried_by
  t.ok(await redis.zscore('laravel_horizon:failed_jobs', job.id), "still in the failed set, as after Horizon's retry")
  const failedAfter = await redis.hgetall(`laravel_horizon:${job.id}`)
  const { retried_by: retriedByRaw, ...rest } = failedAfter
  t.same(rest, failedBefore, 'status, payload, exception and times unchanged')
  t.ok((await redis.ttl(`laravel_horizon:${job.id}`)) > 0, 'the failed record keeps its expiry')

  // the pushed payload: RetryFailedJob::preparePayload, then JobPayload::prepare(null)
  t.equal(await redis.llen('queues:emails'), 1)
  t.equal(await redis.llen('queues:emails:notify'), 1, 'a worker blocked on notify is woken')
  const retried = JSON.parse((await redis.lindex('queues:emails', 0))!) as LaravelPayload
  t.not(retried.id, job.id, 'a new id')
  t.match(retried.id, /^[0-9a-f-]{36}$/, 'a UUID, as Str::uuid()')
  t.equal(retried.uuid, retried.id)
  t.equal(retried.attempts, 0, 'attempts start over')
  t.equal(retried.retry_of, job.id)
  t.equal(retried.retryUntil, Math.floor(NOW / 1000) + 3600, 'the deadline keeps its distance from the push')
  t.equal(retried.pushedAt, (NOW / 1000).toFixed(4))
  t.equal(retried.type, 'job', 'pushRaw prepares with no job object: type job')
  t.equal(retried.silenced, false)
  t.same(retried.tags, ['invoice:42', 'customer:7'], 'the tags are kept')
  t.same(retried.data, job.data, 'the command is untouched')

  // retried_by on the failed record, as storeRetryReference writes it
  t.same(JSON.parse(retriedByRaw!), [{ id: retried.id, status: 'pending', retried_at: Math.floor(NOW / 1000) }])

  // the new job's record, as StoreJob (RedisJobRepository::pushed) writes it on JobPushed
  const record = await redis.hgetall(`laravel_horizon:${retried.id}`)
  t.same(record, {
    id: retried.id,
    connection: 'redis',
    queue: 'emails',
    name: 'App\\Jobs\\SendInvoice',
    status: 'pending',
    payload: (await redis.lindex('queues:emails', 0))!,
    created_at: microtime(NOW),
    updated_at: microtime(NOW),
  })
  t.equal(Number(await redis.zscore('laravel_horizon:recent_jobs', retried.id)), -NOW / 1000, 'scored by minus the push time')
  t.equal(Number(await redis.zscore('laravel_horizon:pending_jobs', retried.id)), -NOW / 1000)
  // NOW is within a second of the real clock
  const ttl = await redis.ttl(`laravel_horizon:${retried.id}`)
  t.ok(ttl > 3590 && ttl <= 3601, `expires with trim.pending, 60 minutes (ttl ${ttl} s)`)
  // StoreMonitoredTags: only the monitored tag
  t.equal(Number(await redis.zscore('laravel_horizon:invoice:42', retried.id)), NOW / 1000)
  t.equal(await redis.exists('laravel_horizon:customer:7'), 0)

  // the failed count stays, as on Horizon's dashboard
  t.equal((await probeOf('emails').probe()).metrics.failed, 1)

  // while the retry waits, a second one is refused and pushes nothing
  await t.rejects(probe.retryJob!(job.id), { message: `job ${job.id} has a retry (${retried.id}) still waiting or running` })
  t.equal(await redis.llen('queues:emails'), 1)

  const [popped, reserved] = await writer.pop('emails', NOW / 1000 + 90)
  t.ok(popped, "Laravel's pop script took it")
  t.equal((JSON.parse(reserved!) as LaravelPayload).attempts, 1)
  // Horizon's worker: reserved, then deleted after a failure (completed(payload, failed: true))
  await writer.reserved(retried.id, reserved!, NOW + 1000)
  t.equal(await writer.finish(JSON.parse(reserved!) as LaravelPayload, true, NOW + 2000), 1, 'Horizon found our retry on the parent by the payload id')
  t.match(JSON.parse((await redis.hget(`laravel_horizon:${job.id}`, 'retried_by'))!), [{ id: retried.id, status: 'failed' }])

  // the retry failed: the job may be retried again, and this time it succeeds
  await probe.retryJob!(job.id)
  const second = JSON.parse((await redis.lindex('queues:emails', 0))!) as LaravelPayload
  t.equal(second.retry_of, job.id)
  const [, reservedAgain] = await writer.pop('emails', NOW / 1000 + 90)
  t.equal(await writer.finish(JSON.parse(reservedAgain!) as LaravelPayload, false, NOW + 3000), 1)
  t.match(JSON.parse((await redis.hget(`laravel_horizon:${job.id}`, 'retried_by'))!), [
    { id: retried.id, status: 'failed' },
    { id: second.id, status: 'completed' },
  ])
  await t.rejects(probe.retryJob!(job.id), { message: `job ${job.id} was already retried successfully (as ${second.id})` }, 'no retry after a success, as on the dashboard')
  t.equal(await redis.llen('queues:emails'), 0)
})

t.test('retry without pushedAt counts the deadline from now, and a zero deadline is none (as RetryFailedJob)', async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  const job = await failed(writer, 'emails', 'App\\Jobs\\SendInvoice', 'boom', NOW - 60_000)
  const noPush = { ...job, retryUntil: Math.floor(NOW / 1000) + 120 } as Partial<LaravelPayload>
  delete noPush.pushedAt
  await redis.hset(`laravel_horizon:${job.id}`, 'payload', JSON.stringify(noPush))
  await probeOf('emails').retryJob!(job.id)
  const retried = JSON.parse((await redis.lpop('queues:emails'))!) as LaravelPayload
  t.equal(retried.retryUntil, Math.floor(NOW / 1000) + 120)

  const other = await failed(writer, 'emails', 'App\\Jobs\\SendInvoice', 'boom', NOW - 50_000, { retryUntil: 0 } as Partial<LaravelPayload>)
  await probeOf('emails').retryJob!(other.id)
  t.equal((JSON.parse((await redis.lpop('queues:emails'))!) as LaravelPayload).retryUntil, null)
})

t.test('two retries of one failed job at once push it once', async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  const job = await failed(writer, 'emails', 'App\\Jobs\\SendInvoice', 'boom', NOW - 60_000)
  const outcomes = await Promise.allSettled([probeOf('emails').retryJob!(job.id), probeOf('emails').retryJob!(job.id)])
  t.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
  t.match(
    outcomes.find((o) => o.status === 'rejected'),
    { reason: { message: /retried by another command at the same time|still waiting or running/ } },
  )
  t.equal(await redis.llen('queues:emails'), 1)
  t.equal(JSON.parse((await redis.hget(`laravel_horizon:${job.id}`, 'retried_by'))!).length, 1)
})

t.test('delete removes the failed job and its record', async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  const job = await failed(writer, 'emails', 'App\\Jobs\\SendInvoice', 'SMTP timeout', NOW)
  await probeOf('emails').deleteJob!(job.id)
  t.equal(await redis.exists(`laravel_horizon:${job.id}`), 0)
  t.equal(await redis.zscore('laravel_horizon:failed_jobs', job.id), null)
  await t.rejects(probeOf('emails').deleteJob!(job.id), { message: `job ${job.id} is not failed` })
})

t.test('retry and delete refuse jobs that are not failed jobs of this queue', async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  const other = await failed(writer, 'reports', 'App\\Jobs\\BuildReport', 'boom', NOW)
  const probe = probeOf('emails')
  await t.rejects(probe.retryJob!(other.id), { message: `job ${other.id} is not a job of queue emails` })
  await t.rejects(probe.deleteJob!(other.id), { message: `job ${other.id} is not a job of queue emails` })
  await t.rejects(probe.retryJob!('missing'), { message: 'job missing is not failed' })
  await redis.hset(`laravel_horizon:${other.id}`, 'status', 'pending')
  await t.rejects(probeOf('reports').retryJob!(other.id), { message: `job ${other.id} is not failed` })
  t.equal(await redis.zcard('laravel_horizon:failed_jobs'), 1, 'nothing removed')
})

t.test('garbage: a payload that is not JSON is skipped for the age, shown raw, and cannot be retried', async (t) => {
  await redis.flushall()
  const writer = laravelWriter(redis)
  await writer.push('junk', '{not json')
  await redis.zadd('laravel_horizon:failed_jobs', -NOW / 1000, 'bad-1')
  await redis.hset('laravel_horizon:bad-1', { id: 'bad-1', queue: 'junk', name: 'X', status: 'failed', payload: '[1,2', exception: 'boom', failed_at: 'yesterday' })
  await redis.zadd('laravel_horizon:failed_jobs', -NOW / 1000 + 1, 'not-a-hash')
  await redis.set('laravel_horizon:not-a-hash', 'x')
  const entry = await probeOf('junk').probe()
  t.ok(snapshotQueueSchema.safeParse(entry).success)
  t.equal(entry.metrics.waiting, 1)
  t.equal(entry.oldestWaitingMs, undefined)
  t.equal(entry.metrics.failed, 1, 'the string key is not a job')
  t.same(entry.failedJobs, [{ id: 'bad-1', name: 'X', failedReason: 'boom', stacktrace: ['boom'], data: '[1,2' }])
  await t.rejects(probeOf('junk').retryJob!('bad-1'), { message: 'job bad-1 has a payload that is not a JSON object' })
  t.equal(await redis.zcard('laravel_horizon:failed_jobs'), 2, 'a refused retry changes nothing')
})

t.test('a queue key of the wrong type fails the probe with the key named', async (t) => {
  await redis.flushall()
  await redis.hset('queues:broken', 'a', '1')
  await t.rejects(probeOf('broken').probe(), /WRONGTYPE.*queues:broken/)
})
