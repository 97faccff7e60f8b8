/**
 * Load shedding against a really blocked event loop: a route registered for the test spins the CPU
 * synchronously, as a runaway render would. Pages are then refused with 503 and Retry-After while
 * the liveness and readiness probes still answer.
 */
import t from 'tap'
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
  t.equal((await app.inject({ url: '/pulse' })).statusCode, 200, 'an idle console serves the page')

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
