import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { rulesDir, tick, writeBeat } from './fixtures.js'

t.test('a firing alert shows on the affected node card, and leaves it when resolved', async (t) => {
  const { server: redisServer, redis } = await useRedis(t)
  const files = rulesDir()
  t.teardown(() => files.remove())
  const rulesFile = files.write('card.json', { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, for: '2s' }] })
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, alertsFile: rulesFile })
  t.teardown(() => app.close())

  for (let i = 0; i < 3; i++) {
    await writeBeat(redis, clock(), 97)
    await tick(app)
    clock.advance(2_000)
  }
  await tick(app)
  const firing = (await app.inject('/fragments/pulse/nodes')).body
  t.match(firing, /<ul class="node-alerts"[^>]*>\s*<li><a href="\/alerts">cpu-high<\/a>: CPU 97\.0 %/, 'the card names the rule and its value')

  for (let i = 0; i < 2; i++) {
    await writeBeat(redis, clock(), 20)
    await tick(app)
    clock.advance(2_000)
  }
  t.notMatch((await app.inject('/fragments/pulse/nodes')).body, /node-alerts/, 'gone once resolved')
})
