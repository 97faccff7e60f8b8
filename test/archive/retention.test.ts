/**
 * Retention through the console: the runner deletes, by state and age against a fake clock, what
 * the policy no longer keeps (real SQLite archive), in batches of the configured size, and keeps
 * everything else; a failing prune is reported and the next run goes on.
 */
import t from 'tap'
import { join } from 'node:path'
import { useRedis } from '../helpers/redis-server.js'
import { fakeClock } from '../helpers/app.js'
import { shuffled } from '../helpers/shuffle.js'
import type { ArchivedJob } from '../../server/archive/store.js'
import { SETTINGS_FRAGMENT_URL } from '../../server/archive/routes.js'
import { archiveApp, rowKey, searchAll, tempDir } from './helpers.js'

const { server } = await useRedis(t)
const HOUR = 3_600_000
const DAY = 24 * HOUR

function job(i: number, state: 'completed' | 'failed', finishedAt: number): ArchivedJob {
  return {
    service: ['api', 'billing', 'mailer'][i % 3]!,
    queue: 'q',
    jobId: `j${i}`,
    attempt: 1,
    state,
    name: 'work',
    driver: null,
    addedAt: null,
    startedAt: null,
    finishedAt,
    durationMs: null,
    waitMs: null,
    failedReason: state === 'failed' ? 'boom' : null,
    stack: null,
    data: null,
    opts: null,
    result: null,
    appVersion: null,
    nodeId: 'n1',
  }
}

for (const seed of [1, 2, 3]) {
  t.test(`seed ${seed}: completed older than 2 days and failed older than 5 go, the rest stay`, async (t) => {
    const clock = fakeClock()
    const now = clock()
    const app = await archiveApp(t, {
      redisUrl: server.url,
      clock,
      file: join(tempDir(t), 'archive.sqlite'),
      retention: 'completed=2d,failed=5d,max=off',
      archiveTuning: { retention: { batch: 7, batchesPerRun: 1_000 } },
    })
    // ages spread around both limits, in shuffled order
    const jobs: ArchivedJob[] = []
    for (let i = 0; i < 240; i++) {
      const state = i % 2 ? 'completed' : 'failed'
      jobs.push(job(i, state, now - ((i * 37 + seed * 11) % (8 * 24)) * HOUR - (i % 5)))
    }
    const order = shuffled(jobs, seed)
    for (const chunk of [0, 80, 160]) await app.archive.store!.upsert(order.slice(chunk, chunk + 80))
    const keep = (j: ArchivedJob) => now - j.finishedAt <= (j.state === 'completed' ? 2 * DAY : 5 * DAY)
    const expiring = jobs.filter((j) => !keep(j)).length
    t.ok(expiring > 20 && expiring < 220, `${expiring} of ${jobs.length} are due`)

    const run = await app.archive.retention!.runOnce()
    t.equal(run.error, null)
    t.equal(run.deleted, expiring, 'every row due deleted')
    t.equal(run.more, false)
    const left = await searchAll(app)
    t.same(new Set(left.map(rowKey)), new Set(jobs.filter(keep).map(rowKey)), 'exactly the rows the policy keeps')

    t.equal((await app.archive.retention!.runOnce()).deleted, 0, 'nothing more until time passes')
    clock.advance(DAY)
    const later = await app.archive.retention!.runOnce()
    const keepLater = (j: ArchivedJob) => clock() - j.finishedAt <= (j.state === 'completed' ? 2 * DAY : 5 * DAY)
    t.equal(later.deleted, jobs.filter(keep).filter((j) => !keepLater(j)).length, 'a day later: the next day of rows')
    t.same(new Set((await searchAll(app)).map(rowKey)), new Set(jobs.filter(keepLater).map(rowKey)))
    t.match((await app.inject({ url: SETTINGS_FRAGMENT_URL })).body, new RegExp(`data-archive="deleted">${expiring + later.deleted}<`))
  })
}

t.test('a run stops at its cap with rows still due, and the next goes on', async (t) => {
  const clock = fakeClock()
  const app = await archiveApp(t, { redisUrl: server.url, clock, file: join(tempDir(t), 'archive.sqlite'), retention: 'completed=1d', archiveTuning: { retention: { batch: 10, batchesPerRun: 3 } } })
  await app.archive.store!.upsert(Array.from({ length: 75 }, (_, i) => job(i, 'completed', clock() - 2 * DAY - i)))
  const runs = []
  for (let i = 0; i < 4; i++) runs.push(await app.archive.retention!.runOnce())
  t.same(
    runs.map((run) => [run.deleted, run.more]),
    [
      [30, true],
      [30, true],
      [15, false],
      [0, false],
    ],
  )
  t.equal((await searchAll(app)).length, 0)
})

t.test('a failing prune is reported; the next run goes on', async (t) => {
  const clock = fakeClock()
  const app = await archiveApp(t, { redisUrl: server.url, clock, file: join(tempDir(t), 'archive.sqlite'), retention: 'completed=1d' })
  await app.archive.store!.upsert([job(1, 'completed', clock() - 2 * DAY)])
  const store = app.archive.store!
  const prune = store.prune.bind(store)
  store.prune = async () => {
    throw new Error('database is locked')
  }
  const failed = await app.archive.retention!.runOnce()
  t.equal(failed.error, 'database is locked')
  t.equal(app.archive.retention!.status().error, 'database is locked')
  store.prune = prune
  t.equal((await app.archive.retention!.runOnce()).deleted, 1)
  t.equal(app.archive.retention!.status().error, null)
})
