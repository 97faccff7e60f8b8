/**
 * Twelve real BullMQ queues in every state, built in several seeded orders (of queues, of states
 * within a queue, with different numbers of jobs per state and two key prefixes), discovered by
 * the console with no agent. Every queue's counts must equal BullMQ's own `getJobCounts`, mapped
 * by PROTOCOL.md's counting rule, on the first tick and on a later re-read; the console stays
 * ready with no part failing. A reader that pairs one queue's replies with another's fails here
 * for most seeds; a single-queue test cannot see it.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { buildBullmqFleet, expectedCounts, intendedJobCounts, queueSpecs } from './bullmq-fleet.js'
import { expectHealthyTick } from './console-health.js'

const { server: redisServer, redis: admin } = await useRedis(t)

const QUEUES = 12

for (const seed of [11, 23, 37]) {
  t.test(`seed ${seed}: ${QUEUES} queues in every state, counts equal getJobCounts`, async (t) => {
    await admin.flushall()
    const specs = queueSpecs(seed, QUEUES)
    const fleet = await buildBullmqFleet(redisServer.url, specs, seed)
    t.teardown(() => fleet.close())
    // the fixture built what it meant to, in BullMQ's own words (else the comparison below proves little)
    for (const [spec, queue] of fleet.queues) t.same(await queue.getJobCounts(), intendedJobCounts(spec), `fixture: ${spec.prefix}:${spec.name} as intended`)
    const states = new Set(
      specs.flatMap((spec) =>
        Object.entries(spec.jobs)
          .filter(([, n]) => n > 0)
          .map(([state]) => state),
      ),
    )
    t.equal(states.size, 7, 'every job state is present in this fleet')
    t.ok(
      specs.some((spec) => spec.paused),
      'and a paused queue',
    )

    const clock = fakeClock(Date.now())
    const app = await buildTestApp({ redisUrl: redisServer.url, clock })
    t.teardown(() => app.close())

    for (const round of ['first tick', 're-read 10 s later']) {
      if (round !== 'first tick') clock.advance(10_000)
      await app.collector.refresh()
      await expectHealthyTick(t, app, `seed ${seed}, ${round}`)
      const listed = ((await app.inject('/api/pulse/queues')).json().queues ?? []) as Record<string, unknown>[]
      t.same(listed.map((q) => `${q.service}/${q.name}`).sort(), specs.map((s) => `${s.prefix}/${s.name}`).sort(), `${round}: every queue found, no other`)
      for (const [spec, queue] of fleet.queues) {
        const shown = listed.find((q) => q.service === spec.prefix && q.name === spec.name)
        const expected = await expectedCounts(queue)
        const counts = shown && Object.fromEntries(Object.keys(expected).map((field) => [field, shown[field]]))
        t.same(counts, expected, `${round}: ${spec.prefix}/${spec.name} (${spec.paused ? 'paused, ' : ''}built ${spec.order.join(' > ')})`)
      }
    }
  })
}
