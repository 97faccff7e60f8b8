import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

t.test('node cards on /pulse carry server-drawn sparklines from recorded samples', async (t) => {
  const { server, redis } = await useRedis(t)
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: server.url, clock })
  t.teardown(() => app.close())

  const before = (await app.inject('/fragments/pulse/nodes')).body
  t.notMatch(before, /sparkline-cpu/, 'no node, no sparkline')

  for (const cpu of [10, 80, 30]) {
    await redis.set('gravito:quasar:node:api:n1', JSON.stringify(sampleHeartbeat({ timestamp: clock(), cpu: { system: cpu, process: 5, cores: 2 } })), 'EX', 30)
    await app.collector.refresh()
    clock.advance(10_000)
  }
  const body = (await app.inject('/fragments/pulse/nodes')).body
  for (const name of ['cpu', 'memory', 'lag']) t.match(body, new RegExp(`<svg class="sparkline sparkline-${name}"`), `${name} sparkline drawn`)
  const points = /sparkline-cpu[^>]*>\s*<polyline class="sparkline-line" points="([^"]+)"/.exec(body)?.[1]
  t.equal(points?.split(' ').length, 3, 'one point per recorded sample')
  t.notMatch(body, /style=/, 'no style attributes (CSP)')
})
