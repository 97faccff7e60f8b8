/**
 * A host app serving HTTP with the agent inside, while Redis is killed, paused and restarted: the
 * app keeps answering, nothing waits in ioredis's offline queue to be replayed, beats resume, and
 * no beat from before an outage is written after it. Every wait is for an event (beats reported
 * as dropped, a request answered, a reply after the pause), never for a length of time.
 */
import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { startRedis } from '../../test/helpers/redis-server.js'
import { eventually } from '../../test/helpers/eventually.js'
import { BeatDroppedError, FIRST_CONNECT_GRACE_MS, startPulse, type QuasarAgent } from '../src/index.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

async function startHost() {
  let served = 0
  const server = createServer((_request, response) => {
    served++
    response.end('ok')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`
  return {
    /** one request to the host; true when it answered */
    answers: async () => (await (await fetch(url)).text()) === 'ok',
    get served() {
      return served
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/**
 * Commands ioredis holds to send once connected. With `enableOfflineQueue: false` there must
 * never be any: this is where stale beats piled up and were replayed after an outage. (Commands
 * already sent and awaiting a reply sit in `commandQueue`, which may rightly hold a beat that was
 * in flight when the connection died, until ioredis flushes it on its next reconnect attempt.)
 */
function offlineQueueLength(agent: QuasarAgent): number {
  return (agent.transport as unknown as { offlineQueue: { length: number } }).offlineQueue.length
}

function notReadyDrops(errors: unknown[]): number {
  return errors.filter((error) => error instanceof BeatDroppedError && error.reason === 'not-ready').length
}

t.test('host keeps serving through kill, pause and restart; beats resume, none replayed', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  const host = await startHost()
  t.teardown(() => host.close())
  const errors: unknown[] = []
  const agent = startPulse({ service: 'host', url: redisServer.url, nodeId: 'h1', intervalMs: 150, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())
  const key = 'gravito:quasar:node:host:h1'

  // background traffic through every outage below; each request must be answered
  let failedRequests = 0
  let serving = true
  const traffic = (async () => {
    while (serving) {
      if (!(await host.answers().catch(() => false))) failedRequests++
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()

  const reader = () => {
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 })
    redis.on('error', () => {})
    return redis
  }
  await eventually(() => agent.beat(), 'first beat')

  for (let round = 1; round <= 3; round++) {
    // killed: the agent tries to beat several times with no Redis at all
    await redisServer.kill()
    const dropsBefore = notReadyDrops(errors)
    const servedBefore = host.served
    await eventually(() => notReadyDrops(errors) >= dropsBefore + 3, `round ${round}: three beats dropped while Redis is down`)
    await eventually(() => host.served > servedBefore, `round ${round}: the host answered while Redis was down`)
    // what anyone asks of the agent's connection while Redis is down (an extension, the host
    // through agent.transport) is refused at once, not kept to be sent later
    const askedWhileDown = agent.transport.exists(key).then(
      () => 'answered after the outage',
      (error: Error) => error.message,
    )
    t.equal(offlineQueueLength(agent), 0, `round ${round}: nothing waits in the offline queue while Redis is down`)
    const upAt = Date.now()
    await redisServer.restart()
    const check = reader()
    await eventually(async () => {
      const raw = await check.get(key)
      return raw !== null && JSON.parse(raw).timestamp >= upAt
    }, `round ${round}: beats resume after the restart`)
    // Redis came back empty: whatever is in the key was built once it was up again
    t.ok(JSON.parse((await check.get(key))!).timestamp >= upAt, `round ${round}: no beat from before the outage was replayed`)
    t.match(await askedWhileDown, /enableOfflineQueue options is false/, `round ${round}: a command while Redis was down failed at once`)
    check.disconnect()
  }

  // paused: Redis accepts connections but answers nothing until the pause is over
  const admin = reader()
  t.teardown(() => admin.disconnect())
  await admin.client('PAUSE', 1500, 'ALL')
  t.equal(await host.answers(), true, 'the host answers while Redis is paused')
  await admin.ping() // answered once the pause is over
  await eventually(() => agent.beat(), 'beats resume after CLIENT PAUSE')
  t.equal(offlineQueueLength(agent), 0, 'nothing waited in the offline queue through the pause')

  serving = false
  await traffic
  t.equal(failedRequests, 0, 'no request to the host failed')
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('Redis unreachable from the start: the host serves, the agent beats once Redis appears', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  await redisServer.kill()
  const host = await startHost()
  t.teardown(() => host.close())
  const errors: unknown[] = []
  // the agent's clock runs past the first-connect grace once it has started: from then on, a Redis
  // never reached is reported (the quiet start is beat-before-connect.test.ts's subject)
  let offsetMs = 0
  const agent = startPulse({ service: 'late', url: redisServer.url, nodeId: 'l1', intervalMs: 150, now: () => Date.now() + offsetMs, onError: (error) => errors.push(error) })
  t.teardown(() => agent.stop())
  offsetMs = FIRST_CONNECT_GRACE_MS

  await eventually(() => notReadyDrops(errors) >= 3, 'three beats dropped with nothing to connect to')
  for (let i = 0; i < 20; i++) t.equal(await host.answers(), true, `request ${i + 1} answered while Redis never was there`)
  t.equal(offlineQueueLength(agent), 0, 'no beat queued for later')

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
