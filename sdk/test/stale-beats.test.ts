/**
 * A beat reaches Redis fresh or not at all. Against a real redis-server: a beat made stale between
 * its build and its write (the host's event loop blocked; a fake clock stands for the time) is
 * dropped; a Redis paused with CLIENT PAUSE gets one beat, which is withdrawn, and nothing built
 * before the pause ended (minus the limit) is written afterwards. Every SET of the node key that
 * Redis ran is seen through MONITOR; every beat sent is counted on the wire by a proxy.
 */
import t, { type Test } from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { useRedis, startRedis, type TestRedis } from '../../test/helpers/redis-server.js'
import { eventually } from '../../test/helpers/eventually.js'
import { BeatDroppedError, MAX_BEAT_AGE_MS, QuasarAgent, startPulse } from '../src/index.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const PAUSE_MS = 5_000

/** A TCP proxy that notes when `needle` passes from the client towards Redis. */
async function wireCounter(redisPort: number, needle: string) {
  const pattern = Buffer.from(needle)
  const passedAt: number[] = []
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    }
    // the tail of each chunk is kept, so a needle split across two chunks is still seen once
    let tail = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      const data = Buffer.concat([tail, chunk])
      let from = 0
      for (let at = data.indexOf(pattern); at >= 0; at = data.indexOf(pattern, from)) {
        passedAt.push(Date.now())
        from = at + pattern.length
      }
      tail = data.subarray(Math.max(from, data.length - pattern.length + 1))
      upstream.write(chunk)
    })
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  return {
    url: `redis://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    /** how many times the needle went towards Redis in [from, until) */
    between: (from: number, until: number) => passedAt.filter((at) => at >= from && at < until).length,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** Every SET of `key` that Redis ran, with the beat's own timestamp. */
async function watchWrites(t: Test, server: TestRedis, key: string) {
  const writes: { timestamp: number }[] = []
  const client = new Redis(server.url)
  const monitor = await client.monitor()
  t.teardown(() => {
    monitor.disconnect()
    client.disconnect()
  })
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'set' && args[1] === key) writes.push({ timestamp: JSON.parse(args[2]!).timestamp as number })
  })
  return writes
}

function dropsOf(errors: unknown[], reason: string): BeatDroppedError[] {
  return errors.filter((error): error is BeatDroppedError => error instanceof BeatDroppedError && error.reason === reason)
}

t.test('a host loop blocked between build and write past the limit: the beat is dropped, reported and counted', async (t) => {
  const { server, redis } = await useRedis(t)
  let now = 1_800_000_000_000
  const errors: unknown[] = []
  const agent = new QuasarAgent({ service: 'blocked', nodeId: 'b1', url: server.url, now: () => now, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())
  // onBeat runs after the beat is built and before it is written: time passing there is a host
  // that blocked its event loop at the worst moment
  let blockedMs = 0
  agent.use({ onBeat: () => void (now += blockedMs) })
  await eventually(() => agent.transport.status === 'ready', 'connected')
  const key = agent.keys.node('blocked', 'b1')

  t.equal(await agent.beat(), true, 'a beat written at once')
  const before = await redis.get(key)
  t.equal(JSON.parse(before!).timestamp, now)

  blockedMs = MAX_BEAT_AGE_MS + 1
  t.equal(await agent.beat(), false, 'a beat one ms past the limit is not written')
  t.equal(await redis.get(key), before, 'the key still holds the beat before it')
  t.equal(dropsOf(errors, 'stale').length, 1, 'reported to onError')
  t.match(dropsOf(errors, 'stale')[0]?.message, /built 2001 ms before/)
  t.match(agent.beatCounts, { written: 1, stale: 1 }, 'and counted')

  blockedMs = MAX_BEAT_AGE_MS
  t.equal(await agent.beat(), true, 'at the limit it is still written')
  t.equal(JSON.parse((await redis.get(key))!).timestamp, now - MAX_BEAT_AGE_MS)
  t.match(agent.beatCounts, { written: 2, stale: 1 })
})

t.test('a slow extension before the build does not age the beat: its time is taken once the values are in', async (t) => {
  const { server, redis } = await useRedis(t)
  let now = 1_800_000_000_000
  const errors: unknown[] = []
  const agent = new QuasarAgent({ service: 'probing', nodeId: 'p1', url: server.url, now: () => now, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())
  agent.use({ beforeBeat: () => void (now += 10 * MAX_BEAT_AGE_MS) })
  await eventually(() => agent.transport.status === 'ready', 'connected')
  t.equal(await agent.beat(), true)
  t.equal(JSON.parse((await redis.get(agent.keys.node('probing', 'p1')))!).timestamp, now, 'stamped after the slow part')
  t.same(dropsOf(errors, 'stale'), [])
})

t.test('CLIENT PAUSE 5 s: one beat goes into the paused Redis and is withdrawn; nothing stale is written after', async (t) => {
  const server = await startRedis()
  t.teardown(() => server.stop())
  const key = 'gravito:quasar:node:paused:p1'
  const wire = await wireCounter(server.port, key)
  t.teardown(() => wire.close())
  const admin = new Redis(server.url)
  t.teardown(() => admin.disconnect())
  const writes = await watchWrites(t, server, key)
  const errors: unknown[] = []
  // the agent's own interval is long: the test beats it every 100 ms, from the moment the pause holds
  const agent = startPulse({ service: 'paused', nodeId: 'p1', url: wire.url, intervalMs: 600_000, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())
  await eventually(() => writes.length > 0, 'the first beat is written')

  const pauseSentAt = Date.now()
  await admin.client('PAUSE', PAUSE_MS, 'ALL')
  const pauseHeldAt = Date.now()
  const ticker = setInterval(() => void agent.beat(), 100)
  t.teardown(() => clearInterval(ticker))
  // the pause ended no earlier than this; whatever is built before it minus the limit is stale
  const pauseEndedAtLeast = pauseSentAt + PAUSE_MS
  await eventually(() => writes.some((write) => write.timestamp >= pauseEndedAtLeast), 'beats are written again after the pause', 30_000)

  t.equal(wire.between(pauseHeldAt, pauseEndedAtLeast), 1, 'exactly one beat was sent into the paused Redis')
  const late = writes.slice(1).filter((write) => write.timestamp < pauseEndedAtLeast - MAX_BEAT_AGE_MS)
  t.same(
    late.map((write) => pauseEndedAtLeast - write.timestamp),
    [],
    'no beat built before the pause ended, minus the limit, was written after it',
  )
  t.ok(dropsOf(errors, 'unanswered').length > 0, 'beats while the one sent had no answer were skipped, and reported')
  t.equal(dropsOf(errors, 'withdrawn').length, 1, 'the unanswered beat was withdrawn once stale, and reported')
  t.equal(agent.beatCounts.withdrawn, 1)
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('a connection the host owns is never closed to withdraw a beat; still only one beat goes in', async (t) => {
  const server = await startRedis()
  t.teardown(() => server.stop())
  const key = 'gravito:quasar:node:hosted:h1'
  const wire = await wireCounter(server.port, key)
  t.teardown(() => wire.close())
  const admin = new Redis(server.url)
  t.teardown(() => admin.disconnect())
  const hostRedis = new Redis(wire.url, { commandTimeout: 1_000 })
  hostRedis.on('error', () => {})
  t.teardown(() => hostRedis.disconnect())
  let closed = 0
  hostRedis.on('close', () => closed++)
  const errors: unknown[] = []
  const agent = startPulse({ service: 'hosted', nodeId: 'h1', redis: hostRedis, intervalMs: 600_000, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())
  await eventually(() => agent.beatCounts.written > 0, 'the first beat is written')

  const pauseSentAt = Date.now()
  await admin.client('PAUSE', 3_000, 'ALL')
  const pauseHeldAt = Date.now()
  const ticker = setInterval(() => void agent.beat(), 100)
  t.teardown(() => clearInterval(ticker))
  await admin.ping()
  await eventually(() => agent.beatCounts.written > 1, 'beats are written again after the pause')
  t.equal(wire.between(pauseHeldAt, pauseSentAt + 3_000), 1, 'one beat went into the paused Redis')
  t.equal(closed, 0, "the host's connection was left open")
  t.same(dropsOf(errors, 'withdrawn'), [])
})

t.test('no unhandled rejection anywhere', async (t) => {
  t.same(unhandled, [])
})
