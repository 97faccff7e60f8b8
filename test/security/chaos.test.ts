/**
 * Chaos: a console running for real (listening, collector on its own tick) while a hostile corpus
 * lands in its Redis: malformed JSON, 1-10 MB values, 200,000-deep nesting, keys of every other
 * type at node keys, names outside the rule, and 20,000 valid nodes. The console must stay live,
 * keep answering its page and API, and never leave a rejection unhandled. Response times are
 * reported as a comment, not asserted: a timing threshold would only measure the machine.
 */
import t from 'tap'
import { Worker } from 'node:worker_threads'
import { Redis } from 'ioredis'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { eventually } from '../helpers/eventually.js'

/** Polls the paths in turn until told to stop, then reports each request's time and status. */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads')
const { base, paths } = workerData
let polling = true
parentPort.once('message', () => { polling = false })
const timings = Object.fromEntries(paths.map((path) => [path, []]))
const statuses = []
;(async () => {
  while (polling) {
    for (const path of paths) {
      const started = performance.now()
      // a hang guard, not a speed assertion: a request that never ends fails the test
      const response = await fetch(base + path, { signal: AbortSignal.timeout(15000) })
      await response.arrayBuffer()
      timings[path].push(performance.now() - started)
      statuses.push(response.status)
    }
  }
})().then(
  () => parentPort.postMessage({ timings, statuses }),
  (error) => parentPort.postMessage({ timings, statuses, error: String(error) }),
)
`

interface PollerResult {
  timings: Record<string, number[]>
  statuses: number[]
  error?: string
}

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const VALID_NODES = 20_000
const keys = createKeys()

async function writeCorpus(redis: Redis, now: number) {
  const node = (service: string, id: string) => keys.node(service, id)
  await redis.set(node('hostile', 'malformed'), '{"timestamp": 1, "hostname": ', 'EX', 300)
  await redis.set(node('hostile', 'not-an-object'), '[1,2,3]', 'EX', 300)
  await redis.set(node('hostile', 'no-timestamp'), JSON.stringify({ hostname: 'x' }), 'EX', 300)
  await redis.set(node('hostile', 'deep-array'), '['.repeat(200_000) + ']'.repeat(200_000), 'EX', 300)
  await redis.set(node('hostile', 'deep-object'), '{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000), 'EX', 300)
  for (const mb of [1, 5, 10]) await redis.set(node('hostile', `huge-${mb}mb`), JSON.stringify({ timestamp: now, hostname: 'x'.repeat(mb * 1024 * 1024) }), 'EX', 300)
  await redis.hset(node('hostile', 'a-hash'), 'timestamp', String(now))
  await redis.rpush(node('hostile', 'a-list'), '{}')
  await redis.sadd(node('hostile', 'a-set'), '{}')
  await redis.zadd(node('hostile', 'a-zset'), 1, '{}')
  await redis.xadd(node('hostile', 'a-stream'), '*', 'timestamp', String(now))
  const beat = JSON.stringify(sampleHeartbeat({ timestamp: now }))
  for (const bad of ['has space', 'star*', 'brace{x}', 'tag:extra:parts', '']) {
    await redis.set(`${keys.prefix}node:${bad}:n1`, beat, 'EX', 300)
    await redis.set(`${keys.prefix}node:svc:${bad}`, beat, 'EX', 300)
  }
  await redis.zadd(keys.nodeIndex(), now, 'not a member', now, 'svc:*', now, 'hostile:deep-array')

  let pipeline = redis.pipeline()
  for (let i = 0; i < VALID_NODES; i++) {
    const service = `svc-${i % 40}`
    const nodeId = `node-${i}`
    pipeline.set(keys.node(service, nodeId), JSON.stringify(sampleHeartbeat({ timestamp: now, id: nodeId, service, hostname: `host-${i}` })), 'EX', 300)
    pipeline.zadd(keys.nodeIndex(), now, keys.indexMember(service, nodeId))
    // small batches: this test shares its event loop with the console it is testing
    if (i % 500 === 499) {
      await pipeline.exec()
      pipeline = redis.pipeline()
    }
  }
  await pipeline.exec()
}

t.test('the console stays live and answering through a hostile keyspace', async (t) => {
  const { server: redisServer, redis } = await useRedis(t)
  // the corpus writer shares this process's event loop with the console (a 10 MB SET, 20,000 node
  // writes): load shedding would refuse requests because of the test's own work, which no
  // deployment has; shedding has its own test, here the console itself must keep answering
  const app = await buildTestApp({ redisUrl: redisServer.url, autoStart: true, tickMs: 500, shedEventLoopDelayMs: 30_000 })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`

  // the client polls from a worker thread, with an event loop of its own as a browser has: reading
  // and unzipping 11 MB answers on the console's loop would time the test's client, not the console
  const poller = new Worker(POLLER, { eval: true, workerData: { base, paths: ['/pulse', '/api/pulse/nodes', '/livez'] } })
  const polled = new Promise<PollerResult>((resolve, reject) => {
    poller.once('message', resolve)
    poller.once('error', reject)
  })
  t.teardown(() => poller.terminate())

  await writeCorpus(redis, Date.now())
  await eventually(
    async () => {
      const body = (await app.inject('/api/pulse/nodes')).json() as { services: { nodes: unknown[] }[] }
      return body.services.reduce((sum, s) => sum + s.nodes.length, 0) >= VALID_NODES
    },
    'all valid nodes listed',
    60_000,
  )
  // a few more ticks with the whole corpus in place
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  poller.postMessage('stop')
  const { timings, statuses, error } = await polled
  t.equal(error, undefined, 'every request got an answer')

  const api = (await app.inject('/api/pulse/nodes')).json() as { services: { name: string; nodes: { id: string }[] }[] }
  const listed = api.services.flatMap((s) => s.nodes.map((n) => `${s.name}/${n.id}`))
  t.equal(listed.length, VALID_NODES, 'exactly the valid nodes are listed; every hostile key was skipped')
  t.notOk(
    listed.some((name) => name.startsWith('hostile/')),
    'no hostile node shows',
  )
  t.ok(statuses.length >= 6, `${statuses.length} requests answered while the corpus was read`)
  t.same([...new Set(statuses)], [200], `every request answered 200 (got ${[...new Set(statuses)].join(', ')})`)
  t.equal((await app.inject('/livez')).statusCode, 200)
  t.equal((await app.inject('/readyz')).statusCode, 200)
  t.same(unhandled, [], 'no unhandled rejection')

  const summary = Object.entries(timings).map(([path, times]) => {
    const sorted = [...times].sort((a, b) => a - b)
    return `${path}: n=${times.length} median=${Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0)} ms max=${Math.round(sorted.at(-1) ?? 0)} ms`
  })
  t.comment(`response times under chaos (20,000 nodes + hostile corpus): ${summary.join('; ')}`)
})
