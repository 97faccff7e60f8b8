/**
 * Load shedding against a really blocked event loop: a route registered for the test spins the CPU
 * synchronously, as a runaway render would. Pages are then refused with 503 and Retry-After while
 * the liveness and readiness probes still answer.
 */
import t from 'tap'
import Fastify from 'fastify'
import loadShedding from '../../server/security/load-shedding.js'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

function spin(ms: number) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // busy: nothing else runs on this loop meanwhile
  }
}

t.test('a saturated event loop sheds pages with 503, not the probes', async (t) => {
  const app = await buildTestApp({
    redisUrl: redisServer.url,
    shedEventLoopDelayMs: 50,
    shedSampleIntervalMs: 500,
    routes: (scope) => {
      scope.get('/test/block', async () => {
        spin(1_500)
        return { blocked: true }
      })
    },
  })
  t.teardown(() => app.close())
  await app.collector.refresh()
  // a busy test machine can stall the loop past 50 ms too: idle means a sample under the limit
  await eventually(async () => (await app.inject({ url: '/pulse' })).statusCode === 200, 'an idle console serves the page')

  let shed: Awaited<ReturnType<typeof app.inject>> | undefined
  await eventually(async () => {
    await app.inject({ url: '/test/block' }).catch(() => undefined)
    // let the sampler run once after the block (it then holds the figure for 500 ms)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const response = await app.inject({ url: '/pulse' })
    if (response.statusCode !== 503) return false
    shed = response
    return true
  }, 'a request shed while the loop was blocked')
  t.equal(shed!.headers['retry-after'], '5')
  t.match(shed!.json(), { statusCode: 503 })

  // the probes pass whatever the pressure: block again, then ask them first
  await app.inject({ url: '/test/block' }).catch(() => undefined)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await app.inject({ url: '/livez' })).statusCode, 200, 'livez is never shed')
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'readyz reports Redis, not load')

  await eventually(async () => (await app.inject({ url: '/pulse' })).statusCode === 200, 'pages served again once the loop is free')
})

t.test('a loop busy through the first sample after start is not refused: nothing was measured', async (t) => {
  // the delay monitor's first tick only sets its baseline, so a loop blocked from the start has no
  // figure at the first sample; under-pressure calls that an infinite delay
  const app = Fastify()
  await app.register(loadShedding, { maxEventLoopDelayMs: 30_000, sampleIntervalMs: 1_000 })
  app.get('/page', async () => 'served')
  await app.ready()
  t.teardown(() => app.close())
  spin(1_200)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(app.memoryUsage().eventLoopDelay, Infinity, 'the sample after the block measured nothing')
  const response = await app.inject({ url: '/page' })
  t.equal(response.statusCode, 200, 'the request is served, not shed, far under the 30 s limit')
})
