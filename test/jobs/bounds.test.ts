/**
 * Where a search stops early it says so: the live window's bound on queues and pages, an archive
 * that cannot be read, an archive that is off. Real BullMQ queues read through `app.liveJobs`,
 * a real SQLite archive.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildJobsWorld } from './fixture.js'
import { createLiveWindows } from '../../server/jobs/live-window.js'
import { searchJobs, type JobSearchSources } from '../../server/jobs/search.js'
import { queueRecordsOf } from '../../server/queues/records.js'
import { openSqliteStore } from '../../server/archive/sqlite-store.js'

const { server: redisServer } = await useRedis(t)
const world = await buildJobsWorld(t, redisServer.url, { archivedCount: 200 })
const { app } = world
const queues = queueRecordsOf(app.collector.snapshot)

function sources(bounds: { queues: number; pages: number }, store: JobSearchSources['store'] = world.store): JobSearchSources {
  const windows = createLiveWindows(app.liveJobs, { ...bounds, concurrency: 2 })
  return { store, liveWindow: (records, states) => windows(app.collector.snapshot.version, records, states), queues }
}

t.test('more matching queues than a search reads: the rest is named as left out', async (t) => {
  const all = await searchJobs(sources({ queues: 25, pages: 2 }), { query: { states: ['waiting', 'delayed', 'failed'] }, after: null, limit: 500 })
  t.same(all.partial, [])
  const liveQueues = new Set(all.rows.filter((row) => row.origin === 'live').map((row) => `${row.service}/${row.queue}`))
  t.equal(liveQueues.size, 4, 'four queues hold live jobs')

  const bounded = await searchJobs(sources({ queues: 1, pages: 2 }), { query: { states: ['waiting', 'delayed', 'failed'] }, after: null, limit: 500 })
  t.match(bounded.partial, [/live jobs were read from the first 1 of \d+ matching queues; add service: or queue: to narrow the search/])
  t.equal(new Set(bounded.rows.filter((row) => row.origin === 'live').map((row) => `${row.service}/${row.queue}`)).size, 1, 'one queue read')

  const narrowed = await searchJobs(sources({ queues: 1, pages: 2 }), { query: { services: ['mailer'], states: ['waiting'] }, after: null, limit: 500 })
  t.same(narrowed.partial, [], 'naming the queue brings it under the bound')
  t.equal(narrowed.rows.length, world.live.filter((row) => row.service === 'mailer' && row.state === 'waiting').length)
})

t.test('more jobs in a state than the pages read: the state and the count read are named', async (t) => {
  // 40 waiting jobs in billing/emails: one page of 50 holds them, so cut the page size by reading pages of a smaller reader
  const small = {
    list: async (record: Parameters<typeof app.liveJobs.list>[0], state: Parameters<typeof app.liveJobs.list>[1], page: number) => {
      const answer = await app.liveJobs.list(record, state, 1)
      const size = 10
      return { ...answer, page, pageSize: size, jobs: answer.jobs.slice((page - 1) * size, page * size) }
    },
    get: app.liveJobs.get.bind(app.liveJobs),
  }
  const windows = createLiveWindows(small, { queues: 25, pages: 2, concurrency: 1 })
  const result = await searchJobs(
    { store: null, liveWindow: (records, states) => windows(app.collector.snapshot.version, records, states), queues },
    { query: { services: ['billing'], queues: ['emails'], states: ['waiting'] }, after: null, limit: 100 },
  )
  t.match(result.partial, [/billing\/emails: only the first 20 of 40 waiting jobs were searched/])
  t.equal(result.rows.length, 20)
  t.match(result.notes, [/the archive is off/])
})

t.test('an archive that cannot be read: the live half answers and the page says why', async (t) => {
  const broken = openSqliteStore(':memory:')
  await broken.open()
  await broken.close()
  const result = await searchJobs(sources({ queues: 25, pages: 2 }, broken), { query: {}, after: null, limit: 50 })
  t.ok(result.rows.length > 0 && result.rows.every((row) => row.origin === 'live'), 'live rows still come')
  t.match(result.partial, [/^archive: could not be searched \(/])

  const unopened = await searchJobs({ ...sources({ queues: 25, pages: 2 }, null), archiveProblem: 'cannot open the sqlite archive: disk full' }, { query: {}, after: null, limit: 50 })
  t.match(unopened.partial, [/the archive could not be searched \(cannot open the sqlite archive: disk full\)/])
})
