/**
 * What viewers and orchestrators are told when one collector part fails: a plain sentence with the
 * data's age and a log id on the pages that draw on it, `degraded` in a ready `/readyz`, and never
 * the exception text. The queues part is made to throw, as the BullMQ reader did on ordinary data
 * before its replies were paired with their commands.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { Collector } from '../../server/collector/collector.js'
import type { CollectorPart } from '../../server/collector/snapshot.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const { server: redisServer, redis } = await useRedis(t)

let readerThrows = false
// the queues part is wrapped as the app adds it: a bug that throws inside it, on demand
const addPart = Collector.prototype.addPart
Collector.prototype.addPart = function (this: Collector, part: CollectorPart) {
  if (part.key !== 'queues') return addPart.call(this, part)
  const collect = part.collect.bind(part)
  return addPart.call(this, {
    ...part,
    async collect(now, previous) {
      if (readerThrows) throw new TypeError('(readOk ?? []).map is not a function <img src=x onerror=alert(1)>')
      return collect(now, previous)
    },
  })
} as typeof addPart
t.teardown(() => {
  Collector.prototype.addPart = addPart
})

t.test('one failing part: pages say so plainly, /readyz stays ready and names it, the log has the error', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines })
  t.teardown(() => app.close())
  await redis.set('gravito:quasar:node:api:n1', JSON.stringify(sampleHeartbeat({ timestamp: clock(), hostname: 'api-host' })), 'EX', 30)
  await redis.hset('bull:emails:meta', 'version', 'bullmq:5.0.0', 'opts.maxLenEvents', '10000')

  await app.collector.refresh()
  t.same((await app.inject('/readyz')).json(), { status: 'ready' })
  t.notMatch((await app.inject('/queues')).body, 'Queue reading')

  readerThrows = true
  for (let i = 0; i < 3; i++) {
    clock.advance(10_000)
    await app.collector.refresh()
  }
  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 200, 'one part failing is not "unavailable"')
  t.same(ready.json(), { status: 'ready', degraded: ['queues'] })

  const snapshot = app.collector.snapshot
  const errorId = snapshot.parts.queues!.errorId!
  t.match(errorId, /^[0-9a-f]{8}$/)
  for (const url of ['/queues', '/fragments/queues/table', '/alerts']) {
    const body = (await app.inject(url)).body
    t.match(body, `Queue reading failed 3 times in a row; showing data read 30 s ago. <span class="banner-detail">Log id ${errorId}.</span>`, `${url} says which data is old and how old`)
    t.notMatch(body, /is not a function|onerror|Redis unreachable/, `${url}: no exception text, no false outage`)
  }
  const pulse = (await app.inject('/pulse')).body
  t.notMatch(pulse, 'Queue reading', 'pages that do not draw on queues say nothing')
  t.match(pulse, 'api-host', 'the other parts go on')
  t.equal(snapshot.nodes.length, 1)

  const logged = logLines.map((line) => JSON.parse(line)).filter((line) => line.errorId === errorId)
  t.equal(logged.length, 1)
  t.match(logged[0].err.message, /is not a function/, 'the exception is in the log, under the id')

  readerThrows = false
  clock.advance(2_000)
  await app.collector.refresh()
  t.same((await app.inject('/readyz')).json(), { status: 'ready' })
  t.notMatch((await app.inject('/queues')).body, 'Queue reading')
})

t.test('/readyz: not ready before the first tick, nor once the collector stops ticking', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  t.same((await app.inject('/readyz')).json(), { status: 'unavailable', reason: 'starting' })
  await app.collector.refresh()
  t.equal((await app.inject('/readyz')).statusCode, 200)
  // a tick takes at most the part timeout (10 s): two ticks and their pauses is 24 s
  clock.advance(24_000)
  t.equal((await app.inject('/readyz')).statusCode, 200, 'still within two ticks')
  clock.advance(1)
  const stalled = await app.inject('/readyz')
  t.equal(stalled.statusCode, 503)
  t.same(stalled.json(), { status: 'unavailable', reason: 'collector stalled', lastSnapshotAt: app.collector.snapshot.generatedAt })
})
