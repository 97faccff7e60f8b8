import t from 'tap'
import { hostname } from 'node:os'
import { inspect } from 'node:util'
import { useRedis, startRedis, freePort } from '../../test/helpers/redis-server.js'
import { eventually } from '../../test/helpers/eventually.js'
import { heartbeatSchema } from '../src/protocol/index.js'
import { startPulse, QuasarAgent } from '../src/index.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

t.test('a beat lands at the node key with a 30 s expiry, valid, with its index entry', async (t) => {
  const { server, redis } = await useRedis(t)
  const agent = startPulse({ service: 'billing', url: server.url, nodeId: 'worker-1', appVersion: '2.0.0', intervalMs: 60_000 })
  t.teardown(() => agent.stop())

  await eventually(async () => (await redis.exists('gravito:quasar:node:billing:worker-1')) === 1, 'first beat written')
  const ttl = await redis.ttl('gravito:quasar:node:billing:worker-1')
  t.ok(ttl > 25 && ttl <= 30, `ttl ${ttl} is about 30 s`)
  const beat = JSON.parse((await redis.get('gravito:quasar:node:billing:worker-1'))!)
  const parsed = heartbeatSchema.safeParse(beat)
  t.ok(parsed.success, 'the beat matches the protocol schema')
  t.equal(beat.id, 'worker-1')
  t.equal(beat.service, 'billing')
  t.equal(beat.language, 'node')
  t.equal(beat.pid, process.pid)
  t.equal(beat.appVersion, '2.0.0')
  t.equal(beat.protocol, 1)
  t.ok(beat.cpu.cores >= 1)
  t.ok(beat.memory.process.rss > 0)
  t.ok(beat.disk.total > 0, 'disk is reported')
  const score = await redis.zscore('gravito:quasar:index:nodes:billing', 'worker-1')
  t.equal(Number(score), beat.timestamp, "its service's index scored with the beat time")
  t.equal(await redis.exists('gravito:quasar:index:nodes'), 0, 'the legacy shared index is not written')
})

t.test('a custom prefix is honoured', async (t) => {
  const { server, redis } = await useRedis(t)
  const agent = startPulse({ service: 'api', url: server.url, nodeId: 'n1', prefix: 'acme:mon:' })
  t.teardown(() => agent.stop())
  await eventually(async () => (await redis.exists('acme:mon:node:api:n1')) === 1, 'beat under the custom prefix')
})

t.test('the default node id is hostname-pid, sanitised to the name rule', async (t) => {
  const agent = new QuasarAgent({ service: 'api', url: 'redis://127.0.0.1:1' })
  t.teardown(() => agent.stop())
  t.equal(agent.nodeId, `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64))
  t.match(agent.nodeId, /^[A-Za-z0-9._-]{1,64}$/)
})

t.test('an invalid service or node name is a TypeError at start', async (t) => {
  t.throws(() => startPulse({ service: 'bad name', url: 'redis://127.0.0.1:1' }), TypeError)
  t.throws(() => startPulse({ service: 'a:b', url: 'redis://127.0.0.1:1' }), TypeError)
  t.throws(() => startPulse({ service: 'ok', nodeId: 'n*1', url: 'redis://127.0.0.1:1' }), TypeError)
  t.throws(() => startPulse({ service: 'x'.repeat(65), url: 'redis://127.0.0.1:1' }), TypeError)
})

t.test('Redis unreachable from the start: no throw, errors reported, stop resolves', async (t) => {
  const port = await freePort()
  const errors: unknown[] = []
  const agent = startPulse({
    service: 'api',
    url: `redis://127.0.0.1:${port}`,
    intervalMs: 100,
    onError: (error) => {
      errors.push(error)
      throw new Error('an onError that throws must not hurt the host either')
    },
  })
  await eventually(() => errors.length >= 3, 'several beats reported as failed')
  t.equal(await agent.beat(), false, 'a beat with Redis away is not written')
  await agent.stop()
  t.pass('stop resolved')
})

t.test('stop resolves while Redis is gone mid-run', async (t) => {
  const server = await startRedis()
  const agent = startPulse({ service: 'api', url: server.url, intervalMs: 100 })
  await eventually(() => agent.beat(), 'a beat is written')
  await server.kill()
  await agent.stop()
  await server.stop()
  t.pass('stopped')
})

t.test('a caller-owned ioredis instance is used and left open', async (t) => {
  const { redis } = await useRedis(t)
  const agent = startPulse({ service: 'api', redis, nodeId: 'own' })
  await eventually(async () => (await redis.exists('gravito:quasar:node:api:own')) === 1, 'beat via the given connection')
  await agent.stop()
  t.equal(await redis.ping(), 'PONG', 'the caller connection still works')
})

t.test('the token is never part of the heartbeat', async (t) => {
  const agent = new QuasarAgent({ service: 'api', url: 'redis://127.0.0.1:1', token: 'super-secret-token-value' })
  t.teardown(() => agent.stop())
  t.notMatch(JSON.stringify(await agent.buildHeartbeat()), /super-secret/)
  t.notMatch(JSON.stringify(agent), /super-secret/)
})

t.test('no unhandled rejection in any test above', async (t) => {
  t.same(unhandled, [])
})

t.test('QUASAR_TOKEN from the environment is used, and never shows in errors, logs or inspection', async (t) => {
  const secret = 'env-secret-token-0123456789'
  const previous = process.env.QUASAR_TOKEN
  process.env.QUASAR_TOKEN = secret
  t.teardown(() => {
    if (previous === undefined) delete process.env.QUASAR_TOKEN
    else process.env.QUASAR_TOKEN = previous
  })
  const printed: string[] = []
  const original = { log: console.log, warn: console.warn, error: console.error }
  for (const level of ['log', 'warn', 'error'] as const) console[level] = (...args: unknown[]) => void printed.push(args.map(String).join(' '))
  t.teardown(() => Object.assign(console, original))

  const errors: unknown[] = []
  // nothing listens on port 1: every beat fails and is reported
  const agent = startPulse({ service: 'api', url: 'redis://127.0.0.1:1', nodeId: 'tok', intervalMs: 50, onError: (error) => errors.push(error) })
  t.teardown(() => agent.stop())
  t.equal(agent.tokenForSigning(), secret, 'the token came from the environment')
  await eventually(() => errors.length >= 2, 'failures reported')
  const seen = [...errors.map((e) => inspect(e, { depth: 5 })), ...printed, inspect(agent, { depth: 5, showHidden: true }), JSON.stringify(await agent.buildHeartbeat())]
  for (const text of seen) t.notMatch(text, secret)
})
