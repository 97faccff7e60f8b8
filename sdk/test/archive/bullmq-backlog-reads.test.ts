/**
 * A backlog read in small batches (an agent catching up after downtime): every batch also reads
 * the stream past itself for ends its hashes already count, and those full pages are the next
 * batches. Each is read from Redis once: counted with INFO commandstats, next to what the records
 * must be.
 */
import t from 'tap'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { createBullmqSource } from '../../src/archive/bullmq-source.js'
import type { JobRecord } from '../../src/protocol/index.js'
import { connectionOf } from '../queues/fixtures.js'
import { expectedAttempts, jobRunner } from './bullmq-jobs.js'
import { context } from './hand-worker.js'

const { server, redis } = await useRedis(t)
const runJobs = jobRunner(connectionOf(server.url))

const xranges = async () => Number(/cmdstat_xrange:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0)

t.test('a backlog read 40 events at a time: every attempt once, each page of the stream read once', async (t) => {
  const ids = await runJobs(t, 'catch-up', 60)
  const events = await redis.xlen('bull:catch-up:events')
  const source = createBullmqSource(redis, 'catch-up', 'bull', 'catch-up', { eventsPerRead: 40 })
  const records: JobRecord[] = []
  const before = await xranges()
  let cursor: string | null = null
  let batches = 0
  for (let more = true; more; batches++) {
    const batch = await source.read(cursor, context)
    records.push(...batch.records)
    cursor = batch.cursor
    more = batch.more
  }
  const calls = (await xranges()) - before
  t.same(records.map((record) => `${record.jobId}#${record.attempt} ${record.state}`).sort(), expectedAttempts(ids), 'each attempt of each job, numbered right')
  t.ok(batches >= events / 40, `${events} events in ${batches} batches`)
  // per batch: the trim check, and the one page past what earlier batches read; the first batch reads its pages fresh
  t.ok(calls <= 2 * batches + 4, `${calls} XRANGE calls for ${batches} batches`)
})
