import t from 'tap'
import { openPostgresStore, type PostgresArchiveStore, type PostgresStoreOptions } from '../../server/archive/postgres-store.js'
import { usePostgres } from '../helpers/postgres-server.js'
import { runArchiveStoreContract } from './store-contract.js'
import { keyOf, makeJobs, matches } from './archive-fixture.js'
import type { ArchivedJob, JobQuery, SearchCursor } from '../../server/archive/store.js'

const server = await usePostgres(t)

async function freshStore(test: Pick<typeof t, 'teardown'>, options?: PostgresStoreOptions): Promise<PostgresArchiveStore> {
  const store = await openPostgresStore(await server.createDatabase(), options)
  test.teardown(() => store.close())
  return store
}

t.test('the ArchiveStore contract on PostgreSQL', async (t) => {
  runArchiveStoreContract(t, async () => openPostgresStore(await server.createDatabase()))
})

t.test('values PostgreSQL would refuse are cleaned: one record never fails its batch', async (t) => {
  const store = await freshStore(t)
  const [good, ...rest] = makeJobs(9, 30).map((job, i) => ({ ...job, jobId: `clean-${i}` }))
  const deep = '['.repeat(300) + ']'.repeat(300)
  const hostile: ArchivedJob[] = [
    { ...rest[0]!, name: 'nul\u0000name', failedReason: 'a\u0000b', stack: '\u0000', nodeId: 'n\u0000' },
    { ...rest[1]!, data: '{"a":"x\\u0000y","k\\u0000":1}' },
    { ...rest[2]!, data: '{"s":"\\ud800 lone","\\udc00":2}' },
    { ...rest[3]!, data: '{"big":1e400,"ok":1}' },
    { ...rest[4]!, data: 'not json {' },
    { ...rest[5]!, data: deep },
    { ...rest[6]!, finishedAt: 1e20, addedAt: -5, startedAt: Number.NaN, durationMs: Number.POSITIVE_INFINITY },
    { ...rest[7]!, data: '{"__proto__":{"polluted":true},"z":1,"a":2}' },
  ]
  await store.upsert([good!, ...hostile])
  t.equal((await store.stats()).rows, 9, 'every record of the batch is stored')
  const read = async (job: ArchivedJob) => (await store.attempts(job.service, job.queue, job.jobId)).find((row) => row.attempt === job.attempt)!
  t.same(await read(good!), good, 'the ordinary record is untouched')
  t.match(await read(hostile[0]!), { name: 'nulname', failedReason: 'ab', stack: '', nodeId: 'n' }, 'NUL characters are dropped from text')
  t.same(JSON.parse((await read(hostile[1]!)).data!), { a: 'xy', k: 1 }, 'and from JSON strings and keys')
  t.same(JSON.parse((await read(hostile[2]!)).data!), { s: '\uFFFD lone', '\uFFFD': 2 }, 'lone surrogates become U+FFFD')
  t.same(JSON.parse((await read(hostile[3]!)).data!), { big: null, ok: 1 }, 'a number past any range becomes null')
  t.equal((await read(hostile[4]!)).data, null, 'text that is not JSON is stored as null')
  t.equal((await read(hostile[5]!)).data, null, 'JSON nested past the bound is stored as null')
  t.match(await read(hostile[6]!), { finishedAt: 8.64e15, addedAt: null, startedAt: null, durationMs: null }, 'times out of range are clamped or dropped')
  t.equal((await read(hostile[7]!)).data, hostile[7]!.data, 'clean JSON is kept as written, key order and all')
  const found = await store.search({ data: [{ path: ['a'], value: 'xy' }] }, { limit: 10 })
  t.same(
    found.rows.map((row) => row.jobId),
    [hostile[1]!.jobId],
    'cleaned data is searchable',
  )
  const proto = await store.search({ data: [{ path: ['__proto__', 'polluted'], value: 'true' }] }, { limit: 10 })
  t.same(
    proto.rows.map((row) => row.jobId),
    [hostile[7]!.jobId],
    'a __proto__ key is an ordinary key',
  )
})

const INJECTIONS = [`'; DROP TABLE zenith_archived_jobs; --`, `x' OR '1'='1`, '$1', "\\'", '%', '_', 'a & !b | (c:*', ')', '"', '{"a":1}', 'ARRAY[1]::text[]', '1=1 --']

t.test('SQL and search syntax in every query field is only a value', async (t) => {
  const store = await freshStore(t)
  const plain = makeJobs(120, 31)
  const planted = INJECTIONS.map((text, i): ArchivedJob => ({
    ...plain[i]!,
    service: text,
    queue: text,
    jobId: text,
    name: text,
    appVersion: text,
    nodeId: text,
    failedReason: `failed with ${text}`,
    stack: text,
    data: JSON.stringify({ [text]: text }),
  }))
  const all = [...plain, ...planted]
  await store.upsert(all)
  const expect = async (query: JobQuery, what: string) => {
    const page = await store.search(query, { limit: 500 })
    t.same(
      page.rows.map(keyOf).sort(),
      all
        .filter((job) => matches(job, query))
        .map(keyOf)
        .sort(),
      what,
    )
  }
  for (const text of INJECTIONS) {
    await expect({ services: [text] }, `service ${text}`)
    await expect({ queues: [text, 'emails'] }, `queue ${text}`)
    await expect({ names: [text] }, `name ${text}`)
    await expect({ states: [text] }, `state ${text}`)
    await expect({ ids: [text] }, `id ${text}`)
    await expect({ versions: [text] }, `version ${text}`)
    await expect({ error: text }, `error ${text}`)
    await expect({ words: [text, 'failed'] }, `words ${text}`)
    await expect({ data: [{ path: [text], value: text }] }, `data ${text}`)
    const attempts = await store.attempts(text, text, text)
    t.same(attempts.map(keyOf), [keyOf({ service: text, queue: text, jobId: text, attempt: planted[INJECTIONS.indexOf(text)]!.attempt })], `attempts of ${text}`)
  }
  const odd = await store.search({}, { limit: Number.NaN, after: { finishedAt: Number.POSITIVE_INFINITY, seq: Number.NaN } })
  t.equal(odd.rows.length, 1, 'a limit and cursor that are not numbers still answer')
  t.equal((await store.stats()).rows, all.length, 'the table and every row are still there')
})

t.test('substrings are searched in a bounded window that says where it stopped', async (t) => {
  const store = await freshStore(t, { searchBounds: { scanWindow: 25, maxLimit: 500 } })
  const jobs = makeJobs(200, 32).map((job, i) => ({ ...job, name: i % 3 === 0 ? `50% off ${i}` : `full price ${i}` }))
  await store.upsert(jobs)
  const { keys, partial, pages } = await searchAllPages(store, { words: ['%'] }, 50)
  t.same(
    [...keys].sort(),
    jobs
      .filter((job) => matches(job, { words: ['%'] }))
      .map(keyOf)
      .sort(),
    'the windows together find every match once',
  )
  t.ok(pages >= 200 / 25, `one page per window at least (${pages})`)
  t.ok(partial.length > 0 && partial.every((note) => note.includes('25 jobs')), 'each windowed page says so')
})

async function searchAllPages(store: PostgresArchiveStore, query: JobQuery, limit: number) {
  const keys: string[] = []
  const partial: string[] = []
  let after: SearchCursor | undefined
  let pages = 0
  for (; pages < 1000;) {
    const page = await store.search(query, after ? { limit, after } : { limit })
    pages++
    keys.push(...page.rows.map(keyOf))
    if (page.partial) partial.push(page.partial)
    if (!page.next) break
    after = page.next
  }
  return { keys, partial, pages }
}
