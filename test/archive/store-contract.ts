/**
 * The ArchiveStore contract, run against every engine: `runArchiveStoreContract(t, makeStore)`
 * where `makeStore` returns a new, empty, opened store. Results are checked against the reference
 * model in archive-fixture.ts, over hundreds of rows written in shuffled orders and batches.
 */
import type { Test } from 'tap'
import type { ArchivedJob, ArchiveStore, JobQuery, SearchCursor } from '../../server/archive/store.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { BASE_TIME, keyOf, makeJobs, matches, NAMES, QUEUES, REASONS, SERVICES, VERSIONS } from './archive-fixture.js'

export type StoreFactory = () => Promise<ArchiveStore>

/** Writes `jobs` in a shuffled order, in batches of shuffled sizes. */
export async function upsertShuffled(store: ArchiveStore, jobs: readonly ArchivedJob[], seed: number): Promise<void> {
  const random = seededRandom(seed)
  const order = shuffled(jobs, random)
  while (order.length > 0) await store.upsert(order.splice(0, 1 + Math.floor(random() * 60)))
}

/** Every page of a search, following `next`, with the order and shape checked on the way. */
export async function searchAll(t: Test, store: ArchiveStore, query: JobQuery, limit: number): Promise<{ keys: string[]; partial: string[]; pages: number }> {
  const keys: string[] = []
  const partial: string[] = []
  let after: SearchCursor | undefined
  let previous: SearchCursor | null = null
  let pages = 0
  for (;;) {
    const page = await store.search(query, after ? { limit, after } : { limit })
    pages++
    if (page.rows.length > limit) t.fail(`a page of ${page.rows.length} rows over its limit of ${limit}`)
    if (page.partial) partial.push(page.partial)
    for (const row of page.rows) {
      if (previous && !(row.finishedAt < previous.finishedAt || (row.finishedAt === previous.finishedAt && row.seq < previous.seq))) {
        t.fail(`rows out of order: ${JSON.stringify(previous)} then ${JSON.stringify({ finishedAt: row.finishedAt, seq: row.seq })}`, { query })
      }
      previous = { finishedAt: row.finishedAt, seq: row.seq }
      for (const payload of ['data', 'opts', 'result', 'stack']) if (payload in row) t.fail(`a result row carries ${payload}`)
      keys.push(keyOf(row))
    }
    if (!page.next) break
    if (pages > 10_000) throw new Error('search never ends')
    after = page.next
  }
  return { keys, partial, pages }
}

/** Checks one query: every match exactly once, nothing else, newest first, no partial page. */
async function expectQuery(t: Test, store: ArchiveStore, jobs: readonly ArchivedJob[], query: JobQuery, limit: number): Promise<void> {
  const expected = jobs.filter((job) => matches(job, query)).map(keyOf)
  const { keys, partial } = await searchAll(t, store, query, limit)
  t.equal(new Set(keys).size, keys.length, `no row twice: ${JSON.stringify(query)}`)
  t.same([...keys].sort(), [...expected].sort(), `exactly the matches of ${JSON.stringify(query)} (${expected.length})`)
  t.same(partial, [], `not partial: ${JSON.stringify(query)}`)
}

/** The latest write of each key. */
function latest(jobs: readonly ArchivedJob[]): ArchivedJob[] {
  return [...new Map(jobs.map((job) => [keyOf(job), job])).values()]
}

export function runArchiveStoreContract(t: Test, makeStore: StoreFactory): void {
  const jobs = makeJobs(600, 14)

  t.test('the same key written twice is one row with the newer values, in any order', async (t) => {
    const store = await makeStore()
    t.teardown(() => store.close())
    await upsertShuffled(store, jobs, 1)
    const random = seededRandom(2)
    const changed = shuffled(jobs, random)
      .slice(0, 150)
      .map((job): ArchivedJob => ({
        ...job,
        state: 'failed',
        name: 'renamed zebra',
        failedReason: 'replaced reason platypus',
        stack: 'Error: platypus',
        finishedAt: job.finishedAt + 500,
        appVersion: '9.9.9',
        data: '{"changed":"yes"}',
      }))
    // The same key twice inside one batch too: the later one wins.
    const twice = changed[0]!
    await store.upsert([{ ...twice, name: 'first of two' }, twice])
    t.same(
      (await store.attempts(twice.service, twice.queue, twice.jobId)).find((row) => row.attempt === twice.attempt),
      twice,
      'the later of two writes in one batch wins',
    )
    await upsertShuffled(store, changed, 3)
    const now = latest([...jobs, ...changed])
    t.equal((await store.stats()).rows, now.length, 'one row per key')
    await expectQuery(t, store, now, {}, 50)
    await expectQuery(t, store, now, { names: ['renamed zebra'] }, 13)
    await expectQuery(t, store, now, { words: ['platypus'] }, 13)
    await expectQuery(t, store, now, { versions: ['9.9.9'], states: ['failed'] }, 13)
    await expectQuery(t, store, now, { data: [{ path: ['changed'], value: 'yes' }] }, 13)
    // the replaced text is gone from the text index: a changed row no longer matches its old reason
    for (const reason of REASONS) await expectQuery(t, store, now, { error: reason }, 17)
    const [one] = await store.attempts(twice.service, twice.queue, twice.jobId).then((rows) => rows.filter((row) => row.attempt === twice.attempt))
    t.same(one, twice, 'attempts() returns the newer values in full')
  })

  t.test('every query field alone and combined; pages cover each match once', async (t) => {
    const store = await makeStore()
    t.teardown(() => store.close())
    await upsertShuffled(store, jobs, 4)
    const times = [...new Set(jobs.map((job) => job.finishedAt))].sort((a, b) => a - b)
    const queries: JobQuery[] = [
      {},
      { services: ['api'] },
      { services: ['api', 'mailer'] },
      { queues: ['emails'] },
      { names: ['send-email'] },
      { names: ['charge card', 'build.report'] },
      { states: ['failed'] },
      { states: ['completed'] },
      { states: ['waiting'] },
      { ids: ['1003', `job:7 "x"`, 'no such id'] },
      { versions: ['2.0.0-beta'] },
      { versions: ['1.0.0', '1.1.0'] },
      { since: times[20]! },
      { until: times[20]! },
      { since: times[10]!, until: times[11]! },
      { since: BASE_TIME + 10 * 60_000 },
      { error: 'connection refused' },
      { error: 'ECONNREFUSED' },
      { error: 'took "too long"' },
      { error: "reading 'id'" },
      { error: 'retry after 30s' },
      { error: 'not in any stack at all' },
      { words: ['quota'] },
      { words: ['send'] },
      { words: ['email', 'timeout'] },
      { words: ['worker', '2'] },
      { words: ['process.tick'] },
      { data: [{ path: ['user', 'plan'], value: 'pro' }] },
      { data: [{ path: ['user', 'id'], value: '3' }] },
      { data: [{ path: ['total'], value: '12.5' }] },
      { data: [{ path: ['flag'], value: 'true' }] },
      { data: [{ path: ['odd key'], value: 'a.b' }] },
      {
        data: [
          { path: ['user', 'plan'], value: 'pro' },
          { path: ['user', 'id'], value: '1' },
        ],
      },
      { data: [{ path: ['user', 'missing'], value: 'pro' }] },
      { data: [{ path: ['user'], value: 'pro' }] },
      { services: ['billing'], states: ['failed'], error: 'connection refused' },
      { services: ['api'], queues: ['reports'], states: ['completed'], since: times[5]!, until: times[50]! },
      { names: ['near and far'], words: ['near'], versions: ['1.1.0'] },
      { states: ['failed'], data: [{ path: ['user', 'plan'], value: 'free' }], words: ['quota'] },
      { ids: ['1003', '1010', '1020'], states: ['failed', 'completed'] },
    ]
    const random = seededRandom(5)
    const maybe = <T>(value: T): T | undefined => (random() < 0.35 ? value : undefined)
    for (let i = 0; i < 30; i++) {
      const query: JobQuery = {
        services: maybe(shuffled(SERVICES, random).slice(0, 1 + Math.floor(random() * 2))),
        queues: maybe(shuffled(QUEUES, random).slice(0, 1 + Math.floor(random() * 2))),
        names: maybe(shuffled(NAMES, random).slice(0, 2)),
        states: maybe([random() < 0.5 ? 'failed' : 'completed']),
        versions: maybe(shuffled(VERSIONS, random).slice(0, 2)),
        since: maybe(times[Math.floor(random() * 30)]!),
        until: maybe(times[30 + Math.floor(random() * 30)]!),
        error: maybe(shuffled(['refused', 'too long', 'rate limited', 'quota'], random)[0]!),
        words: maybe([shuffled(['error', 'handler', 'card', 'users'], random)[0]!]),
        data: maybe([{ path: ['user', 'plan'], value: random() < 0.5 ? 'pro' : 'free' }]),
      }
      queries.push(Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined)))
    }
    for (const [i, query] of queries.entries()) await expectQuery(t, store, jobs, query, [1, 7, 50, 1000][i % 4]!)
  })

  t.test('ties in finishedAt: keyset pages of one row still see every row once', async (t) => {
    const store = await makeStore()
    t.teardown(() => store.close())
    const tied = makeJobs(120, 6).map((job, i) => ({ ...job, finishedAt: BASE_TIME + (i % 3) * 1000 }))
    await upsertShuffled(store, tied, 7)
    for (const limit of [1, 2, 39, 40, 41, 120, 121]) await expectQuery(t, store, tied, {}, limit)
    await expectQuery(t, store, tied, { states: ['failed'] }, 3)
  })

  t.test('text that looks like search syntax is only text', async (t) => {
    const store = await makeStore()
    t.teardown(() => store.close())
    await upsertShuffled(store, jobs, 8)
    const hostile = ['"', '""', 'NEAR(', 'NEAR(failure)', '*', 'star*', 'AND', 'OR', 'NOT', '-', '^near', 'a:b', "'", '(', ')', '{stack}:x', '\\', '%', '_', 'name:near', '" OR 1=1 --', '\u0000', '  ']
    for (const text of hostile) {
      await expectQuery(t, store, jobs, { words: [text] }, 50)
      await expectQuery(t, store, jobs, { error: text }, 50)
    }
    await expectQuery(t, store, jobs, { data: [{ path: ['user', 'plan'], value: `pro' OR '1'='1` }] }, 50)
    await expectQuery(t, store, jobs, { data: [{ path: ['a"b'], value: 'x' }] }, 50)
    await expectQuery(t, store, jobs, { data: [{ path: ['$', '[0]'], value: 'x' }] }, 50)
    await expectQuery(t, store, jobs, { services: ["api' --"], names: ['%'] }, 50)
  })

  t.test('attempts of one job, oldest first, in full; unknown jobs have none', async (t) => {
    const store = await makeStore()
    t.teardown(() => store.close())
    await upsertShuffled(store, jobs, 9)
    const byJob = new Map<string, ArchivedJob[]>()
    for (const job of jobs) {
      const key = JSON.stringify([job.service, job.queue, job.jobId])
      byJob.set(key, [...(byJob.get(key) ?? []), job])
    }
    for (const attempts of byJob.values()) {
      const first = attempts[0]!
      t.same(
        await store.attempts(first.service, first.queue, first.jobId),
        [...attempts].sort((a, b) => a.attempt - b.attempt),
      )
    }
    t.same(await store.attempts('api', 'emails', 'no such job'), [])
    const other = jobs[0]!
    t.same(
      await store.attempts(other.service === 'api' ? 'billing' : 'api', other.queue, other.jobId).then((rows) => rows.some((row) => row.service === other.service)),
      false,
      'another service with the same job id is another job',
    )
  })

  t.test('prune by age, per state, in batches', async (t) => {
    const store = await makeStore()
    t.teardown(() => store.close())
    await upsertShuffled(store, jobs, 10)
    const now = BASE_TIME + 60_000
    const policy = { maxAgeMs: { completed: 30_000 } }
    const due = jobs.filter((job) => job.state === 'completed' && job.finishedAt < now - 30_000)
    t.ok(due.length > 40, 'enough rows to need several batches')
    let deleted = 0
    let calls = 0
    for (let more = true; more; calls++) {
      const result = await store.prune(policy, now, 17)
      t.ok(result.deleted <= 17, 'never more than one batch')
      deleted += result.deleted
      more = result.more
      if (calls > 100) throw new Error('prune never ends')
    }
    t.equal(deleted, due.length, 'deleted exactly the rows past their age')
    t.equal(calls, Math.ceil(due.length / 17), 'said "more" until the last batch, and not after it')
    const kept = jobs.filter((job) => !due.includes(job))
    await expectQuery(t, store, kept, {}, 100)
    t.same(await store.prune(policy, now, 17), { deleted: 0, more: false }, 'nothing left to do')

    const both = { maxAgeMs: { completed: 10_000, failed: 50_000 } }
    for (let more = true; more;) more = (await store.prune(both, now, 1000)).more
    await expectQuery(
      t,
      store,
      kept.filter((job) => job.finishedAt >= now - (job.state === 'completed' ? 10_000 : 50_000)),
      {},
      100,
    )
  })

  t.test('prune by size deletes the oldest rows down to the share that fits, and holds it there', async (t) => {
    const store = await makeStore()
    t.teardown(() => store.close())
    const many = makeJobs(4500, 11).map((job, i) => ({ ...job, finishedAt: BASE_TIME + i, data: JSON.stringify({ pad: 'x'.repeat(400), i }) }))
    const fill = async (jobs: ArchivedJob[]) => {
      // In the order an archive fills: by finish time, as records arrive.
      for (let i = 0; i < jobs.length; i += 100) await store.upsert(jobs.slice(i, i + 100))
    }
    const pruneAll = async (maxBytes: number) => {
      let calls = 0
      for (let more = true; more; calls++) {
        const result = await store.prune({ maxAgeMs: {}, maxBytes }, BASE_TIME, 400)
        t.ok(result.deleted <= 400, 'never more than one batch')
        more = result.more
        if (calls > 100) throw new Error('prune never ends')
      }
      return calls
    }
    await fill(many.slice(0, 3000))
    const full = await store.stats()
    const maxBytes = Math.floor(full.bytes / 2)
    t.ok((await pruneAll(maxBytes)) > 1, 'took several batches')
    const halved = await store.stats()
    t.ok(halved.rows >= 3000 * 0.4 && halved.rows <= 3000 * 0.6, `kept about the share of rows that fits (${halved.rows} of 3000)`)
    await expectQuery(t, store, many.slice(3000 - halved.rows, 3000), {}, 500)
    t.same(await store.prune({ maxAgeMs: {}, maxBytes }, BASE_TIME, 400), { deleted: 0, more: false }, 'no second round while the freed space is reused')

    await fill(many.slice(3000))
    await pruneAll(maxBytes)
    const after = await store.stats()
    t.ok(after.rows >= 3000 * 0.3 && after.rows <= 3000 * 0.6, `new rows push out old ones (${after.rows} kept)`)
    t.ok(after.bytes <= full.bytes * 1.1, `the archive stays about the size it had when it passed the cap (${after.bytes} against ${full.bytes})`)
    await expectQuery(t, store, many.slice(many.length - after.rows), {}, 500)
  })

  t.test('stats count rows by state and know the oldest', async (t) => {
    const store = await makeStore()
    t.teardown(() => store.close())
    const empty = await store.stats()
    t.same({ rows: empty.rows, byState: empty.byState, oldestFinishedAt: empty.oldestFinishedAt }, { rows: 0, byState: {}, oldestFinishedAt: null })
    await upsertShuffled(store, jobs, 13)
    const stats = await store.stats()
    t.equal(stats.rows, jobs.length)
    t.same(stats.byState, { completed: jobs.filter((job) => job.state === 'completed').length, failed: jobs.filter((job) => job.state === 'failed').length })
    t.equal(stats.oldestFinishedAt, Math.min(...jobs.map((job) => job.finishedAt)))
    t.ok(stats.bytes > empty.bytes, 'the size grows with rows')
  })
}
