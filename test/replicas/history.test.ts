/**
 * History with several console replicas on one Redis and on a 3-master Cluster, driven by a fake
 * clock: whatever the replicas' tick phases and orders, and whether the writer stalls, stops or a
 * replica joins, the stored history is the same as one console's, field for field; and only the
 * writer sends the writes, so three replicas cost Redis what one does.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import { useRedis } from '../helpers/redis-server.js'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { beatAll, commandCalls, fleet, resetCommandCalls, SECOND, storedHistory, type Agent } from './helpers.js'

const { server, redis: single } = await useRedis(t)
const cluster = await startRedisCluster(3)
const clusterClient = cluster.connect()
t.teardown(async () => {
  await clusterClient.quit()
  await cluster.stop()
})

/** Empties every master. */
async function flush(redis: Redis | Cluster): Promise<void> {
  await Promise.all(('nodes' in redis ? redis.nodes('master') : [redis]).map((master) => master.flushall()))
}
const agents = fleet(12)
const SECONDS = 150

/**
 * Agent i beats once per 10 s, at second i % 10 of each bucket: one beat per bucket, read by every
 * tick in it. None in the last 10 s, which the runs' last ticks of either phase would split.
 */
async function beatsDue(redis: Redis | Cluster, clock: () => number, second: number): Promise<void> {
  if (second >= SECONDS - 10) return
  const due: Agent[] = agents.filter((_, i) => second % 10 === i % 10)
  if (due.length > 0) await beatAll(redis, due, clock(), second)
}

interface Replica {
  app: FastifyInstance
  /** ticks at seconds where (second + phase) is even: 2 s ticks, each replica on its own phase */
  phase: number
  stalledUntil: number
}

const setups = [
  { name: 'one Redis', redis: single, options: { redisUrl: server.url }, seeds: [1, 2, 3, 4] },
  { name: 'a 3-master Cluster', redis: clusterClient, options: { redisUrl: cluster.url, redisCluster: true }, seeds: [5, 6] },
]

for (const { name, redis, options, seeds } of setups)
  t.test(`${name}: one console's history is what every replica run must store`, async (t) => {
    const reference = await (async () => {
      await flush(redis)
      const clock = fakeClock()
      const app = await buildTestApp({ ...options, clock })
      try {
        for (let second = 0; second < SECONDS; second++) {
          await beatsDue(redis, clock, second)
          if (second % 2 === 0) await app.collector.refresh()
          clock.advance(SECOND)
        }
      } finally {
        await app.close()
      }
      return storedHistory(redis)
    })()
    t.ok(Object.keys(reference).length >= agents.length * 3, 'raw, 1 min and 10 min chunks of every node')

    for (const seed of seeds) {
      await t.test(`three replicas, interleaving ${seed}`, async (t) => {
        await flush(redis)
        const random = seededRandom(seed)
        const clock = fakeClock()
        const start = async (): Promise<Replica> => {
          const app = await buildTestApp({ ...options, clock })
          t.teardown(() => app.close())
          return { app, phase: Math.floor(random() * 2), stalledUntil: -1 }
        }
        let replicas = [await start(), await start(), await start()]
        const events: string[] = []
        for (let second = 0; second < SECONDS; second++) {
          await beatsDue(redis, clock, second)
          const writer = replicas.find((replica) => replica.app.history.stats.lease === 'held')
          if (second === 30 + seed * 3 && writer) {
            // the writer hangs for longer than its lease, then comes back
            writer.stalledUntil = second + 13
            events.push(`stalled at ${second}`)
          }
          if (second === 70 + seed * 5 && writer) {
            await writer.app.close()
            replicas = replicas.filter((replica) => replica !== writer)
            events.push(`writer stopped at ${second}`)
          }
          if (second === 90 + seed * 5) {
            replicas.push(await start())
            events.push(`joined at ${second}`)
          }
          const ticking = replicas.filter((replica) => (second + replica.phase) % 2 === 0 && second >= replica.stalledUntil)
          for (const replica of shuffled(ticking, random)) await replica.app.collector.refresh()
          clock.advance(SECOND)
        }
        t.same(events.length, 3, `every event happened: ${events.join(', ')}`)
        const stored = await storedHistory(redis)
        t.same(Object.keys(stored), Object.keys(reference), 'the same chunks')
        const different = Object.keys(reference).filter((key) => JSON.stringify(stored[key]) !== JSON.stringify(reference[key]))
        t.same(different, [], 'every bucket of every chunk as one console stores it')
      })
    }
  })

t.test('three replicas send the writes one console sends, plus a lease claim now and then', async (t) => {
  const many = fleet(200)
  const measured: Record<number, Record<string, number>> = {}
  for (const count of [1, 3]) {
    await single.flushall()
    const clock = fakeClock()
    const apps: FastifyInstance[] = []
    for (let i = 0; i < count; i++) apps.push(await buildTestApp({ redisUrl: server.url, clock }))
    t.teardown(() => Promise.all(apps.map((app) => app.close())))
    // every series seen once and its recent samples read back, before counting
    await beatAll(single, many, clock(), 0)
    for (const app of apps) await app.collector.refresh()
    clock.advance(2 * SECOND)
    await resetCommandCalls(single)
    const ticks = 50
    for (let i = 0; i < ticks; i++) {
      // beats every 10 s under 2 s ticks, as the SDK and the console do by default
      if (i % 5 === 0) await beatAll(single, many, clock(), 1 + i)
      for (const app of shuffled(apps, i)) await app.collector.refresh()
      clock.advance(2 * SECOND)
    }
    measured[count] = await commandCalls(single)
    if (count === 3) t.same(apps.map((app) => app.history.stats.lease).sort(), ['held', 'other', 'other'], 'one writer, two standing by')
    t.comment(`${count} replica(s), ${many.length} nodes, ${ticks} ticks: ${JSON.stringify(measured[count])}`)
  }
  const [one, three] = [measured[1]!, measured[3]!]
  // HSETNX runs once per sample the rollup script is sent (history/rollup-script.ts)
  // ten beats, the first in the bucket already written
  t.equal(one.hsetnx, 9 * many.length, 'one console writes each sample once')
  t.equal(three.hsetnx, one.hsetnx, 'three replicas send each sample once between them, not three times')
})
