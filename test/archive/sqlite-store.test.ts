import t from 'tap'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'
import { openSqliteStore } from '../../server/archive/sqlite-store.js'
import { runArchiveStoreContract, searchAll, upsertShuffled } from './store-contract.js'
import { keyOf, makeJobs, matches } from './archive-fixture.js'
import type { JobQuery } from '../../server/archive/store.js'

const dir = mkdtempSync(join(tmpdir(), 'zenith-archive-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const newPath = () => join(dir, `nested-${++files}`, 'archive.sqlite')

t.test('the ArchiveStore contract on a SQLite file', async (t) => {
  runArchiveStoreContract(t, async () => {
    const store = openSqliteStore(newPath())
    await store.open()
    return store
  })
})

t.test('a file in WAL mode, created with its folder, that keeps its rows when reopened', async (t) => {
  const path = newPath()
  const store = openSqliteStore(path)
  await store.open()
  t.ok(existsSync(path), 'created the folder and the file')
  const jobs = makeJobs(50, 20)
  await store.upsert(jobs)
  await store.close()
  const raw = new Sqlite(path, { readonly: true })
  t.equal(raw.pragma('journal_mode', { simple: true }), 'wal')
  raw.close()
  const again = openSqliteStore(path)
  await again.open()
  await again.open()
  t.teardown(() => again.close())
  t.equal((await again.stats()).rows, 50, 'rows survive a reopen, and open() twice is harmless')
})

t.test(':memory: works and calls before open() fail loudly', async (t) => {
  const store = openSqliteStore(':memory:')
  await t.rejects(store.search({}, { limit: 10 }), /not open/)
  await store.open()
  t.teardown(() => store.close())
  await store.upsert(makeJobs(10, 21))
  t.equal((await store.search({}, { limit: 100 })).rows.length, 10)
})

t.test('a text matching more jobs than the bound searches the newest matches and says so', async (t) => {
  const store = openSqliteStore(':memory:', { search: { textMatches: 5 } })
  await store.open()
  t.teardown(() => store.close())
  const jobs = makeJobs(300, 22)
  // One batch in array order: the rows arrive (and take their seq) in that order.
  await store.upsert(jobs)
  const query: JobQuery = { words: ['handler'] }
  const expected = jobs.filter((job) => matches(job, query)).map(keyOf)
  t.ok(expected.length > 5, 'more matches than the bound')
  const { keys, partial } = await searchAll(t, store, query, 2)
  t.same([...keys].sort(), expected.slice(-5).sort(), 'the 5 matches that arrived last, and only those')
  t.match(partial[0], /more than 5 jobs/)
})

t.test('data paths scan a bounded window; following next still finds every match once', async (t) => {
  const store = openSqliteStore(':memory:', { search: { scanWindow: 40 } })
  await store.open()
  t.teardown(() => store.close())
  const jobs = makeJobs(400, 24)
  await upsertShuffled(store, jobs, 25)
  for (const query of [{ data: [{ path: ['user', 'id'], value: '2' }] }, { data: [{ path: ['user', 'id'], value: '4' }], states: ['failed'] }, { words: ['%'] }] as JobQuery[]) {
    const expected = jobs.filter((job) => matches(job, query)).map(keyOf)
    const { keys, partial, pages } = await searchAll(t, store, query, 10)
    t.same([...keys].sort(), [...expected].sort(), `every match once: ${JSON.stringify(query)}`)
    t.ok(partial.length > 0 && partial.every((note) => /looked at 40 jobs/.test(note)), 'pages cut short by the window say so')
    t.ok(pages > Math.ceil(expected.length / 10), 'the window stopped some pages early')
  }
})

t.test('a stored row whose data is not JSON fails only itself', async (t) => {
  const store = openSqliteStore(':memory:')
  await store.open()
  t.teardown(() => store.close())
  const jobs = makeJobs(30, 26)
  await store.upsert([...jobs, { ...jobs[0]!, jobId: 'broken', data: '{not json' }])
  const query: JobQuery = { data: [{ path: ['user', 'plan'], value: 'pro' }] }
  const { keys } = await searchAll(t, store, query, 50)
  t.same(
    keys.sort(),
    jobs
      .filter((job) => matches(job, query))
      .map(keyOf)
      .sort(),
  )
})
