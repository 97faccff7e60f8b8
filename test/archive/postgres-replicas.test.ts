import t from 'tap'
import type { ArchivedJob } from '../../server/archive/store.js'
import { openPostgresStore } from '../../server/archive/postgres-store.js'
import { freePort } from '../helpers/redis-server.js'
import { startPostgres, usePostgres } from '../helpers/postgres-server.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { keyOf, makeJobs } from './archive-fixture.js'

t.test('two replicas upserting the same keys at once store one row per key', async (t) => {
  const server = await usePostgres(t)
  const url = await server.createDatabase()
  // both open at once: creating the table must not race
  const [a, b] = await Promise.all([openPostgresStore(url, { maxConnections: 4 }), openPostgresStore(url, { maxConnections: 4 })])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const jobs = makeJobs(400, 40)
  const random = seededRandom(41)
  /** The same records as one replica writes them: its own node id, in its own order, in batches run side by side. */
  const writeAs = (store: typeof a, nodeId: string) => {
    const order = shuffled(
      jobs.map((job): ArchivedJob => ({ ...job, nodeId, name: `${job.name} by ${nodeId}` })),
      random,
    )
    const batches: ArchivedJob[][] = []
    while (order.length > 0) batches.push(order.splice(0, 20 + Math.floor(random() * 40)))
    return Promise.all(batches.map((batch) => store.upsert(batch)))
  }
  for (let round = 0; round < 4; round++) {
    const results = await Promise.allSettled([writeAs(a, 'replica-a'), writeAs(b, 'replica-b')])
    t.same(
      results.filter((result) => result.status === 'rejected').map((result) => String(result.reason)),
      [],
      `round ${round}: no batch failed (no deadlock, no duplicate key)`,
    )
  }
  t.equal((await a.stats()).rows, jobs.length, 'one row per key')
  const page = await b.search({}, { limit: 500 })
  t.same(new Set(page.rows.map(keyOf)), new Set(jobs.map(keyOf)), 'every key, once')
  const torn = page.rows.filter((row) => !row.name?.endsWith(`by ${row.nodeId}`))
  t.same(torn, [], 'each row is one replica’s record whole, never half of each')
})

t.test('a stopped server rejects calls with a reason, and the store recovers when it is back', async (t) => {
  const server = await startPostgres()
  t.teardown(() => server.stop())
  const url = await server.createDatabase()
  const idleErrors: Error[] = []
  let idleFailed!: () => void
  const sawIdleError = new Promise<void>((resolve) => (idleFailed = resolve))
  const store = await openPostgresStore(url, {
    onError: (error) => {
      idleErrors.push(error)
      idleFailed()
    },
  })
  t.teardown(() => store.close())
  const jobs = makeJobs(50, 42)
  await store.upsert(jobs)
  // several connections sit idle in the pool when the server goes
  await Promise.all([store.search({}, { limit: 5 }), store.stats(), store.search({ states: ['failed'] }, { limit: 5 })])

  await server.halt()
  await sawIdleError
  t.match(idleErrors[0]?.message, /^archive \(postgres:\/\/postgres@127\.0\.0\.1:\d+\/test_1\): idle connection failed/, 'idle connections that die are reported, not thrown')
  await t.rejects(store.search({}, { limit: 5 }), /^archive \(postgres:\/\/postgres@127\.0\.0\.1:\d+\/test_1\): search failed: /, 'search rejects with where and what')
  await t.rejects(store.upsert(makeJobs(3, 43)), /upsert failed/, 'upsert rejects')
  await t.rejects(store.prune({ maxAgeMs: { completed: 0 } }, Date.now(), 10), /prune failed/, 'prune rejects')
  await t.rejects(store.stats(), /stats failed/, 'stats rejects')
  await t.rejects(store.attempts('api', 'emails', '1000'), /attempts failed/, 'attempts rejects')

  await server.restart()
  t.equal((await store.stats()).rows, jobs.length, 'the same store answers again, rows intact')
  await store.upsert(makeJobs(60, 42))
  t.equal((await store.search({}, { limit: 500 })).rows.length, 60, 'and writes again')
})

t.test('a server that is not there fails the open with a reason and no password', async (t) => {
  const port = await freePort()
  const error = await openPostgresStore(`postgres://zenith:s3cret-pass@127.0.0.1:${port}/archive`, { connectTimeoutMs: 2000 }).then(
    () => null,
    (reason: unknown) => reason as Error,
  )
  t.match(error?.message, new RegExp(`^archive \\(postgres://zenith:\\*\\*\\*@127\\.0\\.0\\.1:${port}/archive\\): open failed: `), 'rejects with where and what')
  t.notMatch(error?.message, /s3cret/, 'the password is not in the message')
  await t.rejects(openPostgresStore('mysql://127.0.0.1/x'), /is not a postgres:\/\/ URL/)
})
