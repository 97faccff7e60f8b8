/**
 * The archiver against a real Redis and a real SQLite archive: many records of many services,
 * written in shuffled orders by `jobRecordFields`, arrive once each with every field; services
 * that beat and services that only write records are both found; records written while ingest
 * runs land too; nothing is left pending; and the collector never reads an archive stream.
 */
import t from 'tap'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { DEFAULT_REDACT_KEYS, REDACTED, type JobRecord } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { shuffled } from '../helpers/shuffle.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { fakeClock } from '../helpers/app.js'
import { archiveApp, jobRecord, keys, rowKey, searchAll, tempDir, writeRecord, groupOf } from './helpers.js'

const { server, redis: admin } = await useRedis(t)
const redisUrl = server.url

const SERVICES = ['api', 'billing', 'mailer', 'reports', 'search', 'auth', 'media', 'ledger', 'sync', 'web.front', 'cron_1', 'edge-2']
/** these beat; the others only write records and are found by the SCAN of archive:* */
const BEATING = new Set(['api', 'billing', 'mailer', 'web.front'])

function recordsOf(seed: number): { service: string; record: JobRecord }[] {
  const all: { service: string; record: JobRecord }[] = []
  SERVICES.forEach((service, s) => {
    const count = 5 + ((s * 7 + seed) % 23)
    for (let i = 0; i < count; i++) {
      const record = jobRecord(service, i + seed)
      if (i % 5 === 0) record.data = JSON.stringify({ user: { id: i, password: 'hunter2', apiToken: 'tok' }, items: [1, 2, 3] })
      if (i % 6 === 0) record.appVersion = `1.${i}.0`
      all.push({ service, record })
    }
  })
  return all
}

async function beat(redis: Redis, service: string, now: number) {
  await redis.set(keys.node(service, `${service}-n0`), JSON.stringify(sampleHeartbeat({ id: `${service}-n0`, service, timestamp: now })), 'EX', 30)
}

for (const seed of [1, 2, 3]) {
  t.test(`seed ${seed}: every record of every service once, in any order`, async (t) => {
    await admin.flushall()
    const clock = fakeClock()
    const records = recordsOf(seed)
    const order = shuffled(records, seed)
    for (const service of BEATING) await beat(admin, service, clock())
    // small claims and groups: many calls, groups and rounds
    const app = await archiveApp(t, { redisUrl, clock, file: join(tempDir(t), 'archive.sqlite'), archiveTuning: { ingest: { servicesPerGroup: 3, groupsPerRound: 2, claim: { count: 7 } } } })
    await app.collector.refresh()

    // half before ingest starts, half between rounds
    const half = Math.floor(order.length / 2)
    for (const { service, record } of order.slice(0, half)) await writeRecord(admin, service, record)
    const first = await app.archive.ingest!.drain()
    t.equal(first.error, null)
    for (const { service, record } of order.slice(half)) await writeRecord(admin, service, record)
    // a service whose first record came now is found by the next SCAN pass
    clock.advance(30_000)
    const second = await app.archive.ingest!.drain()
    t.equal(second.error, null)
    t.equal(first.ingested + second.ingested, records.length, 'each record stored once')

    const rows = await searchAll(app)
    t.equal(rows.length, records.length, 'one row per record, no duplicate')
    t.same(new Set(rows.map(rowKey)), new Set(records.map(({ service, record }) => rowKey({ service, ...record }))))

    for (const { service, record } of records) {
      const attempt = (await app.archive.store!.attempts(service, record.queue, record.jobId)).find((row) => row.attempt === record.attempt)
      if (!attempt) {
        t.fail(`${service}/${record.queue}/${record.jobId}#${record.attempt} missing`)
        continue
      }
      const data = JSON.parse(attempt.data!) as Record<string, unknown>
      const expected = JSON.parse(record.data!) as Record<string, unknown>
      if ('user' in expected) {
        t.same(data, { user: { id: (expected.user as { id: number }).id, password: REDACTED, apiToken: REDACTED }, items: [1, 2, 3] }, 'secrets redacted again by the archiver')
      } else t.same(data, expected)
      t.match(
        attempt,
        {
          state: record.state,
          name: record.name,
          finishedAt: record.finishedAt,
          addedAt: record.addedAt,
          startedAt: record.startedAt,
          durationMs: record.durationMs,
          waitMs: record.waitMs,
          failedReason: record.failedReason ?? null,
          stack: record.stack ?? null,
          appVersion: record.appVersion ?? null,
          nodeId: record.nodeId,
        },
        `${service}/${record.queue}/${record.jobId}#${record.attempt}`,
      )
    }

    const status = app.archive.ingest!.status()
    t.equal(status.ingested, records.length)
    t.equal(status.skipped, 0)
    t.equal(status.error, null)
    t.same(
      status.services.map((s) => s.service),
      [...SERVICES].sort((a, b) => a.localeCompare(b)),
      'every service, beating or not',
    )
    for (const service of SERVICES) {
      const pending = (await admin.xpending(keys.archive(service), groupOf(app))) as [number, ...unknown[]]
      t.equal(pending[0], 0, `${service}: nothing left pending`)
    }
    t.ok(
      status.services.every((s) => s.lag === 0 && s.pending === 0),
      'no lag',
    )
    t.ok(DEFAULT_REDACT_KEYS.includes('password'))
  })
}

t.test('a round with nothing new reads nothing and stores nothing', async (t) => {
  await admin.flushall()
  const app = await archiveApp(t, { redisUrl, file: join(tempDir(t), 'archive.sqlite') })
  await writeRecord(admin, 'api', jobRecord('api', 1))
  const drained = await app.archive.ingest!.drain()
  t.equal(drained.ingested, 1, JSON.stringify({ drained, status: app.archive.ingest!.status() }))
  const again = await app.archive.ingest!.runOnce()
  t.same({ ingested: again.ingested, skipped: again.skipped, more: again.more }, { ingested: 0, skipped: 0, more: false })
  t.equal((await searchAll(app)).length, 1)
})
