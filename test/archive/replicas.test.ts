/**
 * Several consoles on one Redis share the archive streams through one consumer group: each entry
 * is stored by exactly one of them, both take part, and nothing is left pending. A console that
 * stops between reading a batch and acknowledging it leaves its entries pending; another console
 * takes them over once they have been idle `claimIdleMs`, and not before.
 */
import t from 'tap'
import { join } from 'node:path'
import type { JobRecord } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { shuffled } from '../helpers/shuffle.js'
import { ARCHIVE_GROUP } from '../../server/archive/streams.js'
import { archiveApp, jobRecord, keys, rowKey, searchAll, tempDir, writeRecord } from './helpers.js'

const { server, redis: admin } = await useRedis(t)
const SERVICES = ['api', 'billing', 'mailer', 'reports', 'search', 'auth', 'media']

async function writeMany(seed: number, perService: number): Promise<{ service: string; record: JobRecord }[]> {
  const records = SERVICES.flatMap((service) => Array.from({ length: perService }, (_, i) => ({ service, record: jobRecord(service, i) })))
  for (const { service, record } of shuffled(records, seed)) await writeRecord(admin, service, record)
  return records
}

async function pendingTotal(): Promise<number> {
  let total = 0
  for (const service of SERVICES) {
    // a stream no console has read yet has no group: nothing of it is pending
    const pending = await admin.xpending(keys.archive(service), ARCHIVE_GROUP).catch((error: Error) => (/NOGROUP/.test(error.message) ? [0] : Promise.reject(error)))
    total += (pending as [number])[0]
  }
  return total
}

const expectedKeys = (records: { service: string; record: JobRecord }[]) => new Set(records.map(({ service, record }) => rowKey({ service, ...record })))

t.test('two consoles taking turns: each entry stored by one of them, both take part', async (t) => {
  await admin.flushall()
  const dir = tempDir(t)
  const tuning = { ingest: { servicesPerGroup: 2, groupsPerRound: 1, claim: { count: 5 } } }
  const a = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'a.sqlite'), archiveTuning: { ...tuning, consumer: 'console-a' } })
  const b = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'b.sqlite'), archiveTuning: { ...tuning, consumer: 'console-b' } })
  const records = await writeMany(11, 23)
  for (let round = 0; round < 500; round++) {
    const [fromA, fromB] = [await a.archive.ingest!.runOnce(), await b.archive.ingest!.runOnce()]
    t.equal(fromA.error, null)
    t.equal(fromB.error, null)
    if (fromA.ingested + fromB.ingested === 0 && !fromA.more && !fromB.more) break
  }
  const rowsA = (await searchAll(a)).map(rowKey)
  const rowsB = (await searchAll(b)).map(rowKey)
  t.ok(rowsA.length > 0 && rowsB.length > 0, `both consoles stored records (${rowsA.length} and ${rowsB.length})`)
  t.equal(rowsA.length + rowsB.length, records.length, 'no record stored by both')
  t.same(new Set([...rowsA, ...rowsB]), expectedKeys(records), 'every record stored')
  t.equal(a.archive.ingest!.status().ingested + b.archive.ingest!.status().ingested, records.length)
  t.equal(await pendingTotal(), 0, 'nothing pending')
})

t.test('two consoles at once, in three orders: every record once', async (t) => {
  for (const seed of [21, 22, 23]) {
    await admin.flushall()
    const dir = tempDir(t)
    const tuning = { ingest: { servicesPerGroup: 3, claim: { count: 4 } } }
    const a = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'a.sqlite'), archiveTuning: tuning })
    const b = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'b.sqlite'), archiveTuning: tuning })
    const records = await writeMany(seed, 17)
    const [fromA, fromB] = await Promise.all([a.archive.ingest!.drain(), b.archive.ingest!.drain()])
    // one may have finished while the other still held a batch: a last round each catches up
    await Promise.all([a.archive.ingest!.drain(), b.archive.ingest!.drain()])
    t.equal(fromA.error ?? fromB.error, null)
    const rows = [...(await searchAll(a)), ...(await searchAll(b))].map(rowKey)
    t.equal(rows.length, records.length, `seed ${seed}: no record stored twice`)
    t.same(new Set(rows), expectedKeys(records), `seed ${seed}: every record stored`)
    t.equal(await pendingTotal(), 0, `seed ${seed}: nothing pending`)
  }
})

t.test('a console that stops mid-batch: its entries are taken over once idle, by one other console', async (t) => {
  await admin.flushall()
  const dir = tempDir(t)
  const records = await writeMany(31, 9)
  const crashing = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'crashing.sqlite'), archiveTuning: { consumer: 'crashing', ingest: { servicesPerGroup: 3, groupsPerRound: 1, claim: { count: 4 } } } })
  // the store write never returns: the batch is read, and never acknowledged
  let writeStarted!: () => void
  const started = new Promise<void>((resolve) => (writeStarted = resolve))
  crashing.archive.store!.upsert = () => {
    writeStarted()
    return new Promise<void>(() => {})
  }
  void crashing.archive.ingest!.runOnce()
  await started
  const stranded = await pendingTotal()
  t.equal(stranded, 12, 'three services, four entries each, read and not acknowledged')
  await crashing.close()

  const patient = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'patient.sqlite'), archiveTuning: { consumer: 'patient' } })
  const first = await patient.archive.ingest!.drain()
  t.equal(first.ingested, records.length - stranded, 'the default claim idle time: entries pending for less than a minute are left to their console')
  t.equal(await pendingTotal(), stranded)

  const taker = await archiveApp(t, { redisUrl: server.url, file: join(dir, 'taker.sqlite'), archiveTuning: { consumer: 'taker', ingest: { claim: { claimIdleMs: 0 } } } })
  const taken = await taker.archive.ingest!.drain()
  t.equal(taken.ingested, stranded, 'idle long enough: taken over')
  t.equal(await pendingTotal(), 0, 'nothing pending any more')
  const rows = [...(await searchAll(patient)), ...(await searchAll(taker))].map(rowKey)
  t.equal(rows.length, records.length, 'no record stored twice')
  t.same(new Set(rows), expectedKeys(records), 'every record stored, those of the stopped console included')
})
