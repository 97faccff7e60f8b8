/**
 * The deployment replicas use: two consoles on one Redis writing into one PostgreSQL archive.
 * Running at once, they store every record once, with nothing left pending.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { usePostgres } from '../helpers/postgres-server.js'
import { buildTestApp } from '../helpers/app.js'
import { shuffled } from '../helpers/shuffle.js'
import { ARCHIVE_GROUP } from '../../server/archive/streams.js'
import { jobRecord, keys, rowKey, searchAll, writeRecord } from './helpers.js'

const { server: redisServer, redis: admin } = await useRedis(t)
const postgres = await usePostgres(t)
const SERVICES = ['api', 'billing', 'mailer', 'reports', 'search']

t.test('two consoles, one PostgreSQL archive: every record once', async (t) => {
  const url = await postgres.createDatabase()
  const tuning = { ingest: { servicesPerGroup: 2, claim: { count: 6 } } }
  const a = await buildTestApp({ redisUrl: redisServer.url, archive: url, archiveTuning: tuning })
  t.teardown(() => a.close())
  const b = await buildTestApp({ redisUrl: redisServer.url, archive: url, archiveTuning: tuning })
  t.teardown(() => b.close())
  t.equal(a.archive.settings.engine, 'postgres')
  const records = SERVICES.flatMap((service) => Array.from({ length: 31 }, (_, i) => ({ service, record: jobRecord(service, i) })))
  for (const { service, record } of shuffled(records, 7)) await writeRecord(admin, service, record)

  const [fromA, fromB] = await Promise.all([a.archive.ingest!.drain(), b.archive.ingest!.drain()])
  await Promise.all([a.archive.ingest!.drain(), b.archive.ingest!.drain()])
  t.equal(fromA.error ?? fromB.error, null)
  const rows = await searchAll(a)
  t.equal(rows.length, records.length, 'one row per record')
  t.same(new Set(rows.map(rowKey)), new Set(records.map(({ service, record }) => rowKey({ service, ...record }))))
  t.equal(a.archive.ingest!.status().ingested + b.archive.ingest!.status().ingested, records.length, 'each record stored by one console')
  for (const service of SERVICES) t.equal(((await admin.xpending(keys.archive(service), ARCHIVE_GROUP)) as [number])[0], 0, `${service}: nothing pending`)
})
