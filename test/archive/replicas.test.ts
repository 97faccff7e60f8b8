/**
 * Several consoles on one Redis and the archive streams. Consoles writing to one archive (one
 * SQLite file, here; one PostgreSQL database in postgres-ingest.test.ts) share one consumer group:
 * each entry is stored by exactly one of them, both take part, and nothing is left pending. A
 * console that stops between reading a batch and acknowledging it leaves its entries pending;
 * another console of the group takes them over once they have been idle `claimIdleMs`, and not
 * before. Replicas with their own SQLite files (the default) each read every entry into their own.
 */
import t from 'tap'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { JobRecord } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { shuffled } from '../helpers/shuffle.js'
import { archiveApp, groupOf, jobRecord, keys, rowKey, searchAll, tempDir, writeRecord } from './helpers.js'

const { server, redis: admin } = await useRedis(t)
const SERVICES = ['api', 'billing', 'mailer', 'reports', 'search', 'auth', 'media']

async function writeMany(seed: number, perService: number): Promise<{ service: string; record: JobRecord }[]> {
  const records = SERVICES.flatMap((service) => Array.from({ length: perService }, (_, i) => ({ service, record: jobRecord(service, i) })))
  for (const { service, record } of shuffled(records, seed)) await writeRecord(admin, service, record)
  return records
}

async function pendingTotal(group: string): Promise<number> {
  let total = 0
  for (const service of SERVICES) {
    // a stream no console has read yet has no group: nothing of it is pending
    const pending = await admin.xpending(keys.archive(service), group).catch((error: Error) => (/NOGROUP/.test(error.message) ? [0] : Promise.reject(error)))
    total += (pending as [number])[0]
  }
  return total
}

const expectedKeys = (records: { service: string; record: JobRecord }[]) => new Set(records.map(({ service, record }) => rowKey({ service, ...record })))
const ingestedBy = (apps: FastifyInstance[]) => apps.reduce((sum, app) => sum + app.archive.ingest!.status().ingested, 0)

t.test('three replicas, each with its own SQLite file: every file gets every record', async (t) => {
  for (const seed of [41, 42]) {
    await admin.flushall()
    const dir = tempDir(t)
    const tuning = { ingest: { servicesPerGroup: 2, groupsPerRound: 1, claim: { count: 5 } } }
    const apps = await Promise.all(['a', 'b', 'c'].map((name) => archiveApp(t, { redisUrl: server.url, file: join(dir, `${name}.sqlite`), archiveTuning: tuning })))
    t.equal(new Set(apps.map(groupOf)).size, 3, 'a consumer group per file')
    const records = await writeMany(seed, 13)
    // taking turns in a shuffled order per round, then all at once
    for (let round = 0; round < 500; round++) {
      const results = []
      for (const app of shuffled(apps, seed + round)) results.push(await app.archive.ingest!.runOnce())
      const failed = results.filter((result) => result.error !== null)
      if (failed.length > 0) t.fail(`round ${round}: ${failed[0]!.error}`)
      if (results.every((result) => result.ingested === 0 && !result.more)) break
      if (round === 3) await Promise.all(apps.map((app) => app.archive.ingest!.drain()))
    }
    for (const [i, app] of apps.entries()) {
      const rows = (await searchAll(app)).map(rowKey)
      t.equal(rows.length, records.length, `seed ${seed}, replica ${i}: one row per record`)
      t.same(new Set(rows), expectedKeys(records), `seed ${seed}, replica ${i}: every record`)
      t.equal(app.archive.ingest!.status().ingested, records.length, `seed ${seed}, replica ${i}: read each entry once`)
      t.equal(await pendingTotal(groupOf(app)), 0, `seed ${seed}, replica ${i}: nothing pending`)
    }
  }
})

t.test('a replica restarted on its own file resumes; one given a new file reads the whole stream', async (t) => {
  await admin.flushall()
  const dir = tempDir(t)
  const first = await writeMany(51, 6)
  const before = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'kept.sqlite') })
  t.equal((await before.archive.ingest!.drain()).ingested, first.length)
  const group = groupOf(before)
  await before.close()

  const later = SERVICES.flatMap((service) => Array.from({ length: 4 }, (_, i) => ({ service, record: jobRecord(service, 100 + i) })))
  for (const { service, record } of later) await writeRecord(admin, service, record)
  const restarted = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'kept.sqlite') })
  t.equal(groupOf(restarted), group, 'the same file, the same group')
  t.equal((await restarted.archive.ingest!.drain()).ingested, later.length, 'only the records written while it was down')
  t.equal((await searchAll(restarted)).length, first.length + later.length)

  const fresh = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'fresh.sqlite') })
  t.not(groupOf(fresh), group)
  t.equal((await fresh.archive.ingest!.drain()).ingested, first.length + later.length, 'an empty archive gets everything the streams still hold')
})

t.test('two consoles on one SQLite file taking turns: each entry stored by one of them, both take part', async (t) => {
  await admin.flushall()
  const file = join(tempDir(t), 'shared.sqlite')
  const tuning = { ingest: { servicesPerGroup: 2, groupsPerRound: 1, claim: { count: 5 } } }
  const a = await archiveApp(t, { redisUrl: server.url, file, archiveTuning: { ...tuning, consumer: 'console-a' } })
  const b = await archiveApp(t, { redisUrl: server.url, file, archiveTuning: { ...tuning, consumer: 'console-b' } })
  t.equal(groupOf(a), groupOf(b), 'one file, one group')
  const records = await writeMany(11, 23)
  for (let round = 0; round < 500; round++) {
    const [fromA, fromB] = [await a.archive.ingest!.runOnce(), await b.archive.ingest!.runOnce()]
    t.equal(fromA.error, null)
    t.equal(fromB.error, null)
    if (fromA.ingested + fromB.ingested === 0 && !fromA.more && !fromB.more) break
  }
  const [byA, byB] = [a.archive.ingest!.status().ingested, b.archive.ingest!.status().ingested]
  t.ok(byA > 0 && byB > 0, `both consoles stored records (${byA} and ${byB})`)
  t.equal(byA + byB, records.length, 'no record stored by both')
  t.same(new Set((await searchAll(a)).map(rowKey)), expectedKeys(records), 'every record stored')
  t.equal(await pendingTotal(groupOf(a)), 0, 'nothing pending')
})

t.test('two consoles on one SQLite file at once, in three orders: every record once', async (t) => {
  for (const seed of [21, 22, 23]) {
    await admin.flushall()
    const file = join(tempDir(t), 'shared.sqlite')
    const tuning = { ingest: { servicesPerGroup: 3, claim: { count: 4 } } }
    const a = await archiveApp(t, { redisUrl: server.url, file, archiveTuning: tuning })
    const b = await archiveApp(t, { redisUrl: server.url, file, archiveTuning: tuning })
    const records = await writeMany(seed, 17)
    const [fromA, fromB] = await Promise.all([a.archive.ingest!.drain(), b.archive.ingest!.drain()])
    // one may have finished while the other still held a batch: a last round each catches up
    await Promise.all([a.archive.ingest!.drain(), b.archive.ingest!.drain()])
    t.equal(fromA.error ?? fromB.error, null)
    t.equal(ingestedBy([a, b]), records.length, `seed ${seed}: no record stored twice`)
    t.same(new Set((await searchAll(a)).map(rowKey)), expectedKeys(records), `seed ${seed}: every record stored`)
    t.equal(await pendingTotal(groupOf(a)), 0, `seed ${seed}: nothing pending`)
  }
})

t.test('a console that stops mid-batch: its entries are taken over once idle, by one other console', async (t) => {
  await admin.flushall()
  const file = join(tempDir(t), 'shared.sqlite')
  const records = await writeMany(31, 9)
  const crashing = await archiveApp(t, { redisUrl: server.url, file, archiveTuning: { consumer: 'crashing', ingest: { servicesPerGroup: 3, groupsPerRound: 1, claim: { count: 4 } } } })
  // the store write never returns: the batch is read, and never acknowledged
  let writeStarted!: () => void
  const started = new Promise<void>((resolve) => (writeStarted = resolve))
  crashing.archive.store!.upsert = () => {
    writeStarted()
    return new Promise<void>(() => {})
  }
  void crashing.archive.ingest!.runOnce()
  await started
  const group = groupOf(crashing)
  const stranded = await pendingTotal(group)
  t.equal(stranded, 12, 'three services, four entries each, read and not acknowledged')
  await crashing.close()

  const patient = await archiveApp(t, { redisUrl: server.url, file, archiveTuning: { consumer: 'patient' } })
  const first = await patient.archive.ingest!.drain()
  t.equal(first.ingested, records.length - stranded, 'the default claim idle time: entries pending for less than a minute are left to their console')
  t.equal(await pendingTotal(group), stranded)

  const taker = await archiveApp(t, { redisUrl: server.url, file, archiveTuning: { consumer: 'taker', ingest: { claim: { claimIdleMs: 0 } } } })
  const taken = await taker.archive.ingest!.drain()
  t.equal(taken.ingested, stranded, 'idle long enough: taken over')
  t.equal(await pendingTotal(group), 0, 'nothing pending any more')
  t.equal(ingestedBy([patient, taker]), records.length, 'no record stored twice')
  t.same(new Set((await searchAll(taker)).map(rowKey)), expectedKeys(records), 'every record stored, those of the stopped console included')
})

t.test('consumers of consoles gone with nothing pending are removed; one holding entries is kept', async (t) => {
  await admin.flushall()
  const key = keys.archive('api')
  for (let i = 0; i < 6; i++) await writeRecord(admin, 'api', jobRecord('api', i))
  const app = await archiveApp(t, { redisUrl: server.url, file: join(tempDir(t), 'archive.sqlite'), archiveTuning: { consumer: 'live', ingest: { claim: { forgetIdleMs: 0 } } } })
  const group = groupOf(app)
  await admin.xgroup('CREATE', key, group, '0')
  // three consoles that stopped: two had acknowledged everything, one holds two entries
  for (const ghost of ['gone-1', 'gone-2']) {
    const read = (await admin.xreadgroup('GROUP', group, ghost, 'COUNT', 1, 'STREAMS', key, '>')) as [string, [string, string[]][]][]
    await admin.xack(key, group, read[0]![1][0]![0])
  }
  await admin.xreadgroup('GROUP', group, 'holding', 'COUNT', 2, 'STREAMS', key, '>')
  await app.archive.ingest!.drain()
  const consumers = ((await admin.xinfo('CONSUMERS', key, group)) as string[][]).map((flat) => flat[1])
  t.same(consumers.sort(), ['holding', 'live'], 'the idle empty ones removed, the one holding entries and this console kept')
  t.equal(((await admin.xpending(key, group)) as [number])[0], 2, 'its entries still pending, to be taken over once idle')
})
