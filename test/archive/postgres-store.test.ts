import t from 'tap'
import type { ArchivedJob, JobQuery, SearchCursor } from '../../server/archive/store.js'
import { openPostgresStore, type PostgresArchiveStore } from '../../server/archive/postgres-store.js'
import { usePostgres } from '../helpers/postgres-server.js'
import { shuffled, seededRandom } from '../helpers/shuffle.js'
import { BASE_TIME, keyOf, makeJob, matches } from './job-fixtures.js'

const server = await usePostgres(t)

async function freshStore(test: Pick<typeof t, 'teardown'>): Promise<PostgresArchiveStore> {
  const store = await openPostgresStore(await server.createDatabase())
  test.teardown(() => store.close())
  return store
}

/** Every page of a search, with the cursor handed back each time. */
async function allPages(store: PostgresArchiveStore, query: JobQuery, limit: number) {
  const rows = []
  let after: SearchCursor | undefined
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.search(query, { limit, ...(after ? { after } : {}) })
    rows.push(...page.rows)
    if (!page.next) return rows
    after = page.next
  }
  throw new Error('search never reached its last page')
}

/** Upserts in batches of random sizes, in the order given. */
async function upsertInBatches(store: PostgresArchiveStore, jobs: ArchivedJob[], random: () => number): Promise<void> {
  for (let i = 0; i < jobs.length;) {
    const size = 1 + Math.floor(random() * 60)
    await store.upsert(jobs.slice(i, i + size))
    i += size
  }
}

t.test('the same key written again replaces its row, in any order and batching', async (t) => {
  for (const seed of [1, 2, 3]) {
    const store = await freshStore(t)
    const random = seededRandom(seed)
    const first = Array.from({ length: 240 }, (_, n) => makeJob(n))
    // every third job is delivered again, later, as a different outcome of the same attempt
    const again = first.filter((_, n) => n % 3 === 1).map((job) => ({ ...job, state: 'failed' as const, failedReason: `retried ${job.jobId}`, data: '{"z":1,"a":[true,null]}' }))
    await upsertInBatches(store, shuffled(first, random), random)
    await upsertInBatches(store, shuffled([...again, ...again.slice(0, 10)], random), random)
    const expected = new Map(first.map((job) => [keyOf(job), job]))
    for (const job of again) expected.set(keyOf(job), job)

    const stats = await store.stats()
    t.equal(stats.rows, expected.size, `seed ${seed}: one row per key`)
    const byJob = new Map<string, ArchivedJob[]>()
    for (const job of expected.values()) {
      const id = JSON.stringify([job.service, job.queue, job.jobId])
      byJob.set(id, [...(byJob.get(id) ?? []), job])
    }
    for (const jobs of byJob.values()) {
      const { service, queue, jobId } = jobs[0]!
      const attempts = await store.attempts(service, queue, jobId)
      t.same(
        attempts,
        jobs.sort((a, b) => a.attempt - b.attempt),
        `seed ${seed}: ${jobId} reads back as last written, oldest attempt first`,
      )
    }
  }
})

t.test('one batch holding the same key twice keeps the later record', async (t) => {
  const store = await freshStore(t)
  const job = makeJob(4)
  await store.upsert([job, makeJob(5), { ...job, name: 'second' }])
  const [row] = await store.attempts(job.service, job.queue, job.jobId).then((rows) => rows.filter((r) => r.attempt === job.attempt))
  t.equal(row?.name, 'second')
})

t.test('search pages newest first through ties, and finds what the reference finds', async (t) => {
  const store = await freshStore(t)
  const random = seededRandom(42)
  const jobs = Array.from({ length: 400 }, (_, n) => makeJob(n))
  await upsertInBatches(store, shuffled(jobs, random), random)
  const queries: JobQuery[] = [
    {},
    { services: ['billing'] },
    { services: ['billing', 'mail'], states: ['failed'] },
    { queues: ['emails'], names: ['send.welcome', 'report'] },
    { services: ['mail'], queues: ['reports', 'critical'], versions: ['1.0.0', '1.1.0'] },
    { ids: ['job-7', 'job-8', 'job-150'] },
    { versions: ['2.0.0-rc.1'], states: ['completed'] },
    { states: ['waiting'] },
    { since: BASE_TIME + 10_000, until: BASE_TIME + 20_000 },
    { error: 'card declined' },
    { error: 'declined card' },
    { error: 'ECONNREFUSED 127.0.0.1:6379' },
    { words: ['timeout'] },
    { words: ['bank', 'timeout'] },
    { words: ['welcome'] },
    { words: ['send.welcome'] },
    { words: ['worker.js'] },
    { data: [{ path: ['user', 'plan'], value: 'pro' }] },
    { data: [{ path: ['user', 'id'], value: '3' }], services: ['mail'] },
    { data: [{ path: ['amount'], value: '17' }] },
    { data: [{ path: ['user'], value: 'pro' }] },
    { services: [], queues: [], words: [] },
  ]
  for (const query of queries) {
    const expected = new Set(jobs.filter((job) => matches(job, query)).map(keyOf))
    for (const limit of [3, 50]) {
      const rows = await allPages(store, query, limit)
      const keys = rows.map(keyOf)
      t.same(new Set(keys), expected, `${JSON.stringify(query)} by ${limit}: the reference's rows`)
      t.equal(keys.length, new Set(keys).size, `${JSON.stringify(query)} by ${limit}: no row twice`)
      const ordered = rows.every((row, i) => i === 0 || row.finishedAt < rows[i - 1]!.finishedAt || (row.finishedAt === rows[i - 1]!.finishedAt && row.seq < rows[i - 1]!.seq))
      t.ok(ordered, `${JSON.stringify(query)} by ${limit}: newest first, ties by seq`)
    }
  }
  t.ok(new Set(jobs.filter((job) => matches(job, { error: 'card declined' }))).size > 0, 'the error phrase has matches to find')
})

t.test('result lists carry no payloads', async (t) => {
  const store = await freshStore(t)
  await store.upsert(Array.from({ length: 30 }, (_, n) => makeJob(n * 3)))
  const page = await store.search({}, { limit: 30 })
  t.equal(page.rows.length, 30)
  const carried = page.rows.flatMap((row) => ['data', 'opts', 'result', 'stack'].filter((field) => field in row))
  t.same(carried, [], 'no data, opts, result or stack in a summary')
})

t.test('error text searches the reason and stack, not the name', async (t) => {
  const store = await freshStore(t)
  await store.upsert([makeJob(1, { name: 'bank timeout', state: 'completed', failedReason: null, stack: null }), makeJob(2, { name: 'x', state: 'failed', failedReason: 'bank timeout', stack: null })])
  const byError = await store.search({ error: 'bank timeout' }, { limit: 10 })
  t.same(
    byError.rows.map((row) => row.name),
    ['x'],
  )
  const byWords = await store.search({ words: ['bank', 'timeout'] }, { limit: 10 })
  t.equal(byWords.rows.length, 2, 'free words find the name too')
})

t.test('stats count rows per state and the oldest finish', async (t) => {
  const store = await freshStore(t)
  const jobs = Array.from({ length: 90 }, (_, n) => makeJob(n))
  await store.upsert(jobs)
  const stats = await store.stats()
  t.equal(stats.rows, 90)
  t.same(stats.byState, { failed: jobs.filter((job) => job.state === 'failed').length, completed: jobs.filter((job) => job.state === 'completed').length })
  t.equal(stats.oldestFinishedAt, Math.min(...jobs.map((job) => job.finishedAt)))
  t.ok(stats.bytes > 0, 'a size estimate')
})
