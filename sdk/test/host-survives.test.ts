/**
 * A host app serving HTTP with the agent inside, while Redis is killed, paused and restarted:
 * the app keeps answering, the agent's memory stays flat, beats resume, and no stale beat is
 * replayed after an outage.
 */
import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { startRedis } from '../../test/helpers/redis-server.js'
import { eventually } from '../../test/helpers/eventually.js'
import { startPulse } from '../src/index.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

async function startHost() {
  const server = createServer((_request, response) => response.end('ok'))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

t.test('host keeps serving through kill, pause and restart; beats resume, none replayed', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  const host = await startHost()
  t.teardown(() => host.close())
  const agent = startPulse({ service: 'host', url: redisServer.url, nodeId: 'h1', intervalMs: 150, onError: () => {} })
  t.teardown(() => agent.stop())
  const key = 'gravito:quasar:node:host:h1'

  let served = 0
  let failedRequests = 0
  let serving = true
  const traffic = (async () => {
    while (serving) {
      try {
        const response = await fetch(host.url)
        if ((await response.text()) === 'ok') served++
      } catch {
        failedRequests++
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()

  const reader = () => {
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 })
    redis.on('error', () => {})
    return redis
  }
  await eventually(() => agent.beat(), 'first beat')

  const heapBefore = process.memoryUsage().heapUsed
  for (let round = 0; round < 3; round++) {
    // killed: several intervals pass with no Redis at all
    await redisServer.kill()
    const downAt = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 800))
    t.equal(agent.transport.commandQueue.length, 0, 'nothing waits in the command queue while Redis is down')
    await redisServer.restart()
    const check = reader()
    await eventually(async () => {
      const raw = await check.get(key)
      return raw !== null && JSON.parse(raw).timestamp > downAt + 800
    }, `beats resume after restart ${round + 1}`)
    // every beat written after the restart is newer than the outage: none was queued and replayed
    const raw = await check.get(key)
    t.ok(JSON.parse(raw!).timestamp >= downAt + 800, 'no stale beat replayed')
    check.disconnect()
  }

  // paused: Redis accepts connections but answers nothing for a while
  const admin = reader()
  await admin.client('PAUSE', 1500, 'ALL')
  await new Promise((resolve) => setTimeout(resolve, 1800))
  await eventually(() => agent.beat(), 'beats resume after CLIENT PAUSE')
  admin.disconnect()

  serving = false
  await traffic
  t.ok(served > 50, `host served ${served} requests during the outages`)
  t.equal(failedRequests, 0, 'no request to the host failed')
  global.gc?.()
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore
  t.ok(heapGrowth < 20 * 1024 * 1024, `heap grew ${Math.round(heapGrowth / 1024)} KB over the outages`)
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('Redis unreachable from the start: the host serves, the agent beats once Redis appears', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  await redisServer.kill()
  const host = await startHost()
  t.teardown(() => host.close())
  const errors: unknown[] = []
  const agent = startPulse({ service: 'late', url: redisServer.url, nodeId: 'l1', intervalMs: 150, onError: (error) => errors.push(error) })
  t.teardown(() => agent.stop())

  // several intervals with nothing to connect to
  let served = 0
  for (let i = 0; i < 20; i++) {
    if ((await (await fetch(host.url)).text()) === 'ok') served++
    await new Promise((resolve) => setTimeout(resolve, 40))
  }
  t.equal(served, 20, 'every request to the host answered while Redis never was there')
  t.equal(agent.transport.commandQueue.length, 0, 'no beat queued for later')
  t.ok(errors.length > 0, 'the outage reached onError')

  const upAt = Date.now()
  await redisServer.restart()
  const check = new Redis(redisServer.url)
  t.teardown(() => check.disconnect())
  await eventually(async () => {
    const raw = await check.get('gravito:quasar:node:late:l1')
    return raw !== null && JSON.parse(raw).timestamp >= upAt
  }, 'first beat once Redis is up')
  t.same(unhandled, [], 'no unhandled rejection')
})
