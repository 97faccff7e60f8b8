/**
 * The archiver as the documented console user (docs/security.md, read from the document): the
 * group reads, acknowledgements, take-overs and group creation all pass its ACL.
 */
import t from 'tap'
import { join } from 'node:path'
import { useRedis } from '../helpers/redis-server.js'
import { documentedAclLines, documentedUserUrl, setUserArgs } from '../helpers/documented-acl.js'
import { archiveApp, jobRecord, keys, searchAll, tempDir, writeRecord, groupOf } from './helpers.js'

const { server, redis: admin } = await useRedis(t)

t.test('the console user runs the archiver', async (t) => {
  for (const line of documentedAclLines) await admin.call('ACL', 'SETUSER', ...setUserArgs(line))
  const records = Array.from({ length: 20 }, (_, i) => jobRecord('billing', i))
  for (const record of records) await writeRecord(admin, 'billing', record)
  const app = await archiveApp(t, { redisUrl: documentedUserUrl(server.url, 'zenith-console'), file: join(tempDir(t), 'archive.sqlite'), archiveTuning: { ingest: { claim: { count: 6, claimIdleMs: 0 } } } })
  const result = await app.archive.ingest!.drain()
  t.equal(result.error, null, 'no NOPERM on the way')
  t.equal((await searchAll(app)).length, records.length)
  t.same(
    app.archive.ingest!.status().services.map((s) => s.error),
    [null],
  )
  t.equal(((await admin.xpending(keys.archive('billing'), groupOf(app))) as [number])[0], 0, 'acknowledged')
  const [group] = (await admin.xinfo('GROUPS', keys.archive('billing'))) as unknown[][]
  t.ok(group?.includes(groupOf(app)), 'the group was created as the console user')
})
