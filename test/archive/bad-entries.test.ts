/**
 * What broken or hostile agents write into their archive streams: malformed entries, entries of
 * megabytes, binary bytes, a key of another type. Each bad entry is skipped, counted under its
 * service with its reason, and acknowledged; the good records around it land; a 10 MB entry never
 * crosses the wire; a key of another type stops only its own service.
 */
import t from 'tap'
import { join } from 'node:path'
import { jobRecordFields } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { shuffled } from '../helpers/shuffle.js'
import { DEFAULT_INGEST_OPTIONS } from '../../server/archive/ingest.js'
import { archiveApp, jobRecord, keys, rowKey, searchAll, tempDir, writeRaw, writeRecord, groupOf } from './helpers.js'

const { server, redis: admin } = await useRedis(t)

async function outputBytes(): Promise<number> {
  return Number(/total_net_output_bytes:(\d+)/.exec(await admin.info('stats'))?.[1])
}

const good = jobRecordFields(jobRecord('api', 0))
const withField = (name: string, value: string | Buffer, base: readonly string[] = good) => {
  const fields: (string | Buffer)[] = [...base]
  const at = fields.indexOf(name)
  if (at >= 0) fields[at + 1] = value
  else fields.push(name, value)
  return fields
}
const without = (name: string) => {
  const fields = [...good]
  const at = fields.indexOf(name)
  fields.splice(at, 2)
  return fields
}
const TEN_MB = 10 * 1024 * 1024
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3])

/** every kind of bad entry, with the reason it is counted under */
const BAD: { what: string; fields: (string | Buffer)[]; reason: string }[] = [
  { what: 'no queue', fields: without('queue'), reason: 'queue is missing or too long' },
  { what: 'protocol version 2', fields: withField('v', '2'), reason: 'v is not 1' },
  { what: 'a live state', fields: withField('state', 'waiting'), reason: 'state is not completed or failed' },
  { what: 'attempt 0', fields: withField('attempt', '0'), reason: 'attempt is not a whole number from 1' },
  { what: 'attempt 1.5', fields: withField('attempt', '1.5'), reason: 'attempt is not a whole number from 1' },
  { what: 'finishedAt soon', fields: withField('finishedAt', 'soon'), reason: 'finishedAt is not a time' },
  { what: 'no jobId', fields: without('jobId'), reason: 'jobId is missing or too long' },
  { what: 'binary queue name', fields: withField('queue', BINARY), reason: 'queue or jobId is not text' },
  { what: 'binary job id', fields: withField('jobId', Buffer.concat([Buffer.from('job-'), BINARY])), reason: 'queue or jobId is not text' },
  { what: 'an entry of 70,000 characters', fields: withField('stack', 'x'.repeat(70_000)), reason: 'entry is over 65536 characters' },
  { what: 'an entry of 10 MB', fields: withField('data', 'x'.repeat(TEN_MB)), reason: `entry is over ${DEFAULT_INGEST_OPTIONS.claim.entryBytes} bytes` },
]

t.test('bad entries skipped, counted and acknowledged; the good ones around them land', async (t) => {
  for (const seed of [1, 2]) {
    await admin.flushall()
    const goodRecords = Array.from({ length: 30 }, (_, i) => jobRecord('api', i + 1))
    const writes = shuffled([...goodRecords.map((record) => ({ good: record })), ...BAD.map((bad) => ({ bad })), ...BAD.map((bad) => ({ bad }))], seed)
    for (const write of writes) {
      if ('good' in write) await writeRecord(admin, 'api', write.good)
      else await writeRaw(admin, 'api', write.bad.fields)
    }
    // good data that is binary, too deep or not JSON: dropped from the record, which lands
    const binaryData = jobRecord('api', 100)
    await writeRaw(admin, 'api', withField('data', BINARY, jobRecordFields(binaryData)))
    const app = await archiveApp(t, { redisUrl: server.url, file: join(tempDir(t), 'archive.sqlite'), archiveTuning: { ingest: { claim: { count: 10 } } } })

    const before = await outputBytes()
    const result = await app.archive.ingest!.drain()
    const sent = (await outputBytes()) - before
    t.equal(result.error, null, `seed ${seed}: ingest never stopped`)
    t.ok(sent < 3 * 1024 * 1024, `seed ${seed}: Redis sent ${sent} bytes for two 10 MB entries and the rest`)

    const rows = await searchAll(app)
    t.same(new Set(rows.map(rowKey)), new Set([...goodRecords, binaryData].map((record) => rowKey({ service: 'api', ...record }))), `seed ${seed}: every good record landed`)
    const kept = (await app.archive.store!.attempts('api', binaryData.queue, binaryData.jobId)).find((row) => row.attempt === binaryData.attempt)
    t.equal(kept?.data, null, 'binary data dropped, the record kept')

    const status = app.archive.ingest!.status().services.find((s) => s.service === 'api')!
    const expected: Record<string, number> = {}
    for (const bad of BAD) expected[bad.reason] = (expected[bad.reason] ?? 0) + 2
    t.same(status.skipped, expected, `seed ${seed}: each skip counted under its reason`)
    t.equal(status.skippedTotal, BAD.length * 2)
    t.equal(((await admin.xpending(keys.archive('api'), groupOf(app))) as [number])[0], 0, 'bad entries acknowledged too')
  }
})

t.test('a key of another type stops only its own service', async (t) => {
  await admin.flushall()
  await admin.set(keys.archive('broken'), 'not a stream')
  await admin.hset(keys.archive('hashed'), 'a', '1')
  const records = Array.from({ length: 12 }, (_, i) => ({ service: i % 2 ? 'api' : 'zeta', record: jobRecord(i % 2 ? 'api' : 'zeta', i) }))
  for (const { service, record } of records) await writeRecord(admin, service, record)
  const app = await archiveApp(t, { redisUrl: server.url, file: join(tempDir(t), 'archive.sqlite') })
  const result = await app.archive.ingest!.drain()
  t.equal(result.error, null)
  t.equal((await searchAll(app)).length, records.length, 'the other services (before and after in order) all landed')
  const services = app.archive.ingest!.status().services
  t.match(services.find((s) => s.service === 'broken')?.error, /^WRONGTYPE/)
  t.match(services.find((s) => s.service === 'hashed')?.error, /^WRONGTYPE/)
  t.equal(services.find((s) => s.service === 'api')?.error, null)
})
