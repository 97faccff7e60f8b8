/**
 * /queues lists names the way people number them: `svc-2` before `svc-10`, `q-9` before `q-10`,
 * whatever order the agents wrote them in, in the table (both directions of the name sort) and in
 * the service filter.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { shuffled } from '../helpers/shuffle.js'
import { after, writeSnapshot } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)

const SERVICES = ['svc-1', 'svc-2', 'svc-10', 'svc-11', 'svc-100']
const QUEUES = ['q-1', 'q-2', 'q-9', 'q-10', 'q-010a', 'q-20', 'Q-3']
// the order a person expects: numbers as numbers, letters before case
const EXPECTED_QUEUES = ['q-1', 'q-2', 'Q-3', 'q-9', 'q-10', 'q-010a', 'q-20']

function rowNames(html: string): string[] {
  return [...after(html, '<tbody>').matchAll(/<td><a href="\/queues\/([^/]+)\/([^"]+)">/g)].map((m) => `${m[1]}/${m[2]}`)
}

function serviceOptions(html: string): string[] {
  const select = after(html, 'name="service"')
  return [...select.slice(0, select.indexOf('</select>')).matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]!)
}

for (const seed of [1, 2, 3]) {
  t.test(`agents writing in order ${seed}`, async (t) => {
    await redis.flushall()
    const clock = fakeClock()
    const app = await buildTestApp({ redisUrl: redisServer.url, clock })
    t.teardown(() => app.close())
    for (const service of shuffled(SERVICES, seed)) {
      await writeSnapshot(redis, service, { timestamp: clock(), queues: shuffled(QUEUES, seed + 7).map((name) => ({ name, driver: 'bullmq', metrics: { waiting: 1 } })) })
    }
    await app.collector.refresh()

    const expected = SERVICES.flatMap((service) => EXPECTED_QUEUES.map((name) => `${service}/${name}`))
    t.same(rowNames((await app.inject('/queues')).body), expected, 'by service, then name, both in natural order')
    t.same(serviceOptions((await app.inject('/queues')).body), SERVICES, 'the service filter in natural order')
    const byName = rowNames((await app.inject('/queues?sort=name&dir=desc')).body)
    t.same(
      byName.map((row) => row.slice(row.indexOf('/') + 1)).filter((_, i) => i % SERVICES.length === 0),
      [...EXPECTED_QUEUES].reverse(),
      'the name column sorted Z→A is the natural order reversed',
    )
  })
}
