/**
 * Discovered Laravel queues read right whatever their number and shape: many queues written as
 * Laravel writes them, in seeded orders and amounts, among look-alike keys of other types, each
 * compared with what was written. A key the console may not read is reported; a `queues:…` key of
 * another type is some other application's and is left out without a report.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { createLaravelReader } from '../../server/queues/laravel-reader.js'
import { laravelPayload } from './helpers.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'

const { server: redisServer, redis } = await useRedis(t)

interface Made {
  service: string
  name: string
  waiting: number
  active: number
  delayed: number
  /** pushedAt of the head payload, seconds */
  oldestAt?: number
}

for (const seed of [3, 17, 29]) {
  t.test(`seed ${seed}: 14 Laravel queues among look-alikes, each with its own counts and oldest job`, async (t) => {
    await redis.flushall()
    const random = seededRandom(seed)
    const clock = fakeClock()
    const nowSeconds = Math.floor(clock() / 1000)
    const made: Made[] = []
    /** each queue's (or look-alike's) writes in the order they must happen */
    const sequences: (() => Promise<unknown>)[][] = []
    for (let i = 0; i < 14; i++) {
      const [prefix, service] = random() < 0.5 ? ['', 'laravel'] : ['laravel_database_', 'laravel_database']
      const name = `jobs-${seed}-${i}`
      const amount = () => Math.floor(random() * 4)
      // a queue is found by one of its keys: make sure it has one
      const queue: Made = { service, name, waiting: amount(), active: amount(), delayed: amount() }
      if (queue.waiting + queue.active + queue.delayed === 0) queue.waiting = 1
      const list = `${prefix}queues:${name}`
      // pushed oldest first, as time goes; each queue's head has an age no other queue has
      const times = Array.from({ length: queue.waiting }, (_, n) => nowSeconds - 10_000 - i * 100 + n)
      if (times.length > 0) queue.oldestAt = times[0]
      const writes = [
        ...times.map((at) => () => redis.rpush(list, laravelPayload(`${name}-${at}`, at))),
        ...Array.from({ length: queue.active }, (_, n) => () => redis.zadd(`${list}:reserved`, nowSeconds + 60 + n, laravelPayload(`${name}-r${n}`, nowSeconds - 5))),
        ...Array.from({ length: queue.delayed }, (_, n) => () => redis.zadd(`${list}:delayed`, nowSeconds + 300 + n, laravelPayload(`${name}-d${n}`, nowSeconds))),
      ]
      sequences.push(writes)
      made.push(queue)
    }
    // look-alikes of other applications: a string, a hash, a set named like a queue or its parts
    for (let i = 0; i < 5; i++) {
      sequences.push([() => redis.set(`queues:setting-${seed}-${i}`, '{"a":1}')])
      sequences.push([() => redis.hset(`queues:cache-${seed}-${i}`, 'x', '1')])
      sequences.push([() => redis.sadd(`queues:tags-${seed}-${i}:reserved`, 'x')])
    }
    // a queue whose reserved set some other application overwrote with a string: left out
    sequences.push([() => redis.rpush(`queues:squatted-${seed}`, laravelPayload('s', nowSeconds - 10)), () => redis.set(`queues:squatted-${seed}:reserved`, 'not a set')])
    // each sequence keeps its order; the sequences interleave in a seeded order
    const turns = shuffled(
      sequences.flatMap((writes, s) => writes.map(() => s)),
      random,
    )
    for (const s of turns) await sequences[s]!.shift()!()

    const logLines: string[] = []
    const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines })
    t.teardown(() => app.close())
    await app.collector.refresh()
    const queues: any[] = (await app.inject('/api/pulse/queues')).json().queues
    t.same(queues.map((q) => `${q.service}/${q.name}`).sort(), made.map((q) => `${q.service}/${q.name}`).sort(), 'every queue, no look-alike')
    for (const queue of made) {
      const shown = queues.find((q) => q.service === queue.service && q.name === queue.name)
      t.match(shown, { driver: 'laravel', waiting: queue.waiting, active: queue.active, delayed: queue.delayed, failed: null }, `${queue.name}: its own counts`)
      if (queue.oldestAt === undefined) t.notOk('oldestWaitingMs' in shown, `${queue.name}: nothing waits`)
      else t.equal(shown.oldestWaitingMs, clock() - queue.oldestAt * 1000, `${queue.name}: its own oldest payload`)
    }
    t.same(
      logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'skipped bad agent data'),
      [],
      "other applications' keys are not reported as bad data",
    )
  })
}

t.test('a Laravel queue the console may not read (NOPERM) is reported; the others are read', async (t) => {
  await redis.flushall()
  const now = Date.now()
  for (const name of ['open', 'secret', 'public']) await redis.rpush(`queues:${name}`, laravelPayload(name, Math.floor(now / 1000) - 60))
  await redis.zadd('queues:secret:delayed', 1, 'x')
  // the read-only script that bounds the read of a payload too (EVAL_RO: the documented console user has it with +@scripting)
  await redis.acl('SETUSER', 'laravel-partial', 'on', '>pw', 'resetkeys', '~queues:open*', '~queues:public*', '+@read', '+@connection', '+eval_ro')
  const limited = new Redis({ port: redisServer.port, host: '127.0.0.1', username: 'laravel-partial', password: 'pw', enableReadyCheck: false })
  t.teardown(() => limited.quit())
  const reported: [string, string][] = []
  const read = createLaravelReader(limited, { report: (key, reason) => reported.push([key, reason]) })
  const refs = ['open', 'secret', 'public'].map((queue) => ({ driver: 'laravel' as const, prefix: '', queue }))
  const readings = await read(refs, now)
  t.same(
    [...readings.keys()].map((ref) => ref.queue),
    ['open', 'public'],
  )
  for (const reading of readings.values()) t.match(reading, { waiting: 1, active: 0, delayed: 0 })
  t.same(
    reported.map(([key, reason]) => [key, reason.split(' ')[0]]).sort(),
    [
      ['queues:secret', 'NOPERM'],
      ['queues:secret', 'NOPERM'],
      ['queues:secret:delayed', 'NOPERM'],
      ['queues:secret:reserved', 'NOPERM'],
    ].sort(),
    'each key of the unreadable queue, under its own name',
  )
})
