/**
 * The archive's state where people see it: the settings panel (GET /archive/fragments/settings,
 * which the /jobs page includes) and GET /api/archive. A store that fails degrades the archive
 * alone, visibly and with its reason, while the collector goes on; once the store answers again
 * the entries it missed are stored, once each. A PostgreSQL password is never shown.
 */
import t from 'tap'
import { join } from 'node:path'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { SETTINGS_FRAGMENT_URL } from '../../server/archive/routes.js'
import { STATS_MAX_AGE_MS } from '../../server/archive/plugin.js'
import { archiveApp, jobRecord, keys, rowKey, searchAll, tempDir, writeRecord, groupOf } from './helpers.js'

const { server, redis: admin } = await useRedis(t)

t.test('a failing store: the archive says why, the collector ticks on, and it recovers', async (t) => {
  await admin.flushall()
  const clock = fakeClock()
  await admin.set(keys.node('api', 'n1'), JSON.stringify(sampleHeartbeat({ id: 'n1', service: 'api', timestamp: clock() })), 'EX', 30)
  const records = Array.from({ length: 40 }, (_, i) => jobRecord(i % 2 ? 'api' : 'mailer', i))
  for (const [i, record] of records.entries()) await writeRecord(admin, i % 2 ? 'api' : 'mailer', record)
  const app = await archiveApp(t, { redisUrl: server.url, clock, file: join(tempDir(t), 'archive.sqlite'), archiveTuning: { ingest: { claim: { count: 8 } } } })
  const store = app.archive.store!
  const upsert = store.upsert.bind(store)
  store.upsert = async () => {
    throw new Error('disk I/O error')
  }

  const failed = await app.archive.ingest!.runOnce()
  t.equal(failed.error, 'the archive store failed: disk I/O error')
  t.equal(failed.ingested, 0)
  const snapshot = await app.collector.refresh()
  t.ok(
    Object.values(snapshot.parts).every((part) => part.ok),
    'every collector part read as usual',
  )
  t.same(
    snapshot.nodes.map((node) => node.nodeId),
    ['n1'],
  )

  const panel = await app.inject({ url: SETTINGS_FRAGMENT_URL })
  t.equal(panel.statusCode, 200)
  t.match(panel.body, /Archiving stopped[^<]*the archive store failed: disk I\/O error/)
  const api = (await app.inject({ url: '/api/archive' })).json()
  t.equal(api.ingest.error, 'the archive store failed: disk I/O error')
  const pending = ((await admin.xpending(keys.archive('api'), groupOf(app))) as [number])[0] + ((await admin.xpending(keys.archive('mailer'), groupOf(app))) as [number])[0]
  t.equal(pending, 16, 'what was read stays pending: 8 of each service')

  // a second failing round reads the same entries again, nothing more: the backlog does not grow in the console
  t.equal((await app.archive.ingest!.runOnce()).error, 'the archive store failed: disk I/O error')
  t.equal(((await admin.xpending(keys.archive('api'), groupOf(app))) as [number])[0], 8)

  store.upsert = upsert
  const recovered = await app.archive.ingest!.drain()
  t.equal(recovered.error, null)
  t.equal(recovered.ingested, records.length, 'every record stored once the store answers, the pending ones first')
  const rows = await searchAll(app)
  t.same(new Set(rows.map(rowKey)), new Set(records.map((record, i) => rowKey({ service: i % 2 ? 'api' : 'mailer', ...record }))))
  t.equal(rows.length, records.length)
  // the row count is taken at most every STATS_MAX_AGE_MS
  clock.advance(STATS_MAX_AGE_MS)
  const after = await app.inject({ url: SETTINGS_FRAGMENT_URL })
  t.notMatch(after.body, /Archiving stopped/)
  t.match(after.body, new RegExp(`data-archive="rows">${records.length} `))
})

t.test('the panel: engine, location, retention, size; nothing of the archive when it is off', async (t) => {
  await admin.flushall()
  const file = join(tempDir(t), 'jobs', 'archive.sqlite')
  const app = await archiveApp(t, { redisUrl: server.url, file, retention: 'completed=2d,failed=off,max=500MB' })
  for (let i = 0; i < 5; i++) await writeRecord(admin, 'api', jobRecord('api', i))
  await app.archive.ingest!.drain()
  const body = (await app.inject({ url: SETTINGS_FRAGMENT_URL })).body
  t.match(body, /data-archive="engine">SQLite</)
  t.match(body, `<code>${file}</code>`)
  t.match(body, /data-archive="keep-completed">2 days</)
  t.match(body, /data-archive="keep-failed">forever</)
  t.match(body, /data-archive="max">500 MB</)
  t.match(body, /data-archive="rows">5 /)
  t.match(body, /data-archive="ingested">5</)

  const off = await buildTestApp({ redisUrl: server.url })
  t.teardown(() => off.close())
  t.equal(off.archive.store, null)
  t.equal(off.archive.ingest, null)
  t.match((await off.inject({ url: SETTINGS_FRAGMENT_URL })).body, /The archive is off/)
  t.same((await off.inject({ url: '/api/archive' })).json().settings.engine, 'off')
})

t.test('a PostgreSQL archive that cannot be opened: the console starts, says why, never shows the password', async (t) => {
  await admin.flushall()
  const clock = fakeClock()
  let opens = 0
  const app = await buildTestApp({
    redisUrl: server.url,
    clock,
    archive: 'postgres://zenith:hunter2@127.0.0.1:1/jobs?sslmode=disable',
    archiveTuning: {
      openStore: async () => {
        opens++
        throw new Error('connect ECONNREFUSED 127.0.0.1:1')
      },
    },
  })
  t.teardown(() => app.close())
  t.equal(opens, 1, 'tried at boot')
  const body = (await app.inject({ url: SETTINGS_FRAGMENT_URL })).body
  t.match(body, /PostgreSQL/)
  t.match(body, '<code>postgres://127.0.0.1:1/jobs</code>')
  t.match(body, /cannot open the postgres archive: connect ECONNREFUSED/)
  const api = (await app.inject({ url: '/api/archive' })).body
  for (const text of [body, api]) t.notMatch(text, /hunter2/)
  t.equal((await app.archive.ingest!.runOnce()).error, 'cannot open the postgres archive: connect ECONNREFUSED 127.0.0.1:1')
  t.equal(opens, 1, 'not tried again on every round')
  clock.advance(10_000)
  await app.archive.ingest!.runOnce()
  t.equal(opens, 2, 'tried again after a pause')
})
