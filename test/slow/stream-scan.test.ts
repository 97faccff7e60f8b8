/**
 * The `slow:*` SCAN is bounded per tick (steps) and per pass (services), resumes across ticks,
 * waits between passes, and forgets a stream that is gone once a pass has ended.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { useRedis } from '../helpers/redis-server.js'
import { createSlowStreamScanner } from '../../server/slow/stream-scan.js'
import { keys, type Report } from './helpers.js'

const { redis: admin } = await useRedis(t)

t.test('a pass over 20,000 other keys: three steps a tick, 25 services at most', async (t) => {
  for (let chunk = 0; chunk < 20; chunk++) {
    const pipeline = admin.pipeline()
    for (let i = 0; i < 1_000; i++) pipeline.set(`other:${chunk}:${i}`, 'x')
    await pipeline.exec()
  }
  for (let i = 0; i < 30; i++) await admin.xadd(keys.slow(`svc-${i}`), '*', 'kind', 'job')
  await admin.xadd(`${keys.prefix}slow:no*pe`, '*', 'kind', 'job')

  let scans = 0
  const counted = { scan: ((...args: Parameters<Redis['scan']>) => (scans++, admin.scan(...args))) as Redis['scan'] }
  const reports: Report[] = []
  const scanner = createSlowStreamScanner(counted, keys, { report: (key, reason) => void reports.push({ key, reason }) }, { stepsPerTick: 3, maxServices: 25, everyMs: 60_000 })

  let now = 0
  let ticks = 0
  const sizes: number[] = []
  do {
    scans = 0
    await scanner.step((now += 2_000))
    ticks++
    t.ok(scans <= 3, `tick ${ticks}: ${scans} SCAN steps`)
    sizes.push(scanner.services().size)
  } while (scans === 3 && ticks < 50)
  t.ok(ticks >= 7, `the pass took ${ticks} ticks (20,031 keys at COUNT 1000, three steps a tick)`)
  t.ok(
    sizes.every((size, i) => i === 0 || size >= sizes[i - 1]!),
    'what a pass finds is usable before it ends',
  )
  t.equal(scanner.services().size, 25, 'at most 25 services per pass')
  t.ok(
    reports.some((r) => /more than 25 slow streams/.test(r.reason)),
    'the cap is reported',
  )
  t.ok(reports.some((r) => r.key === `${keys.prefix}slow:no*pe` && /name rule/.test(r.reason)))

  scans = 0
  await scanner.step(now + 2_000)
  t.equal(scans, 0, 'no new pass before 60 s have passed since the last one started')

  // a pass with room for every service, after one stream is gone
  const roomy = createSlowStreamScanner(admin, keys, { report: () => {} }, { stepsPerTick: 100 })
  await roomy.step(0)
  t.equal(roomy.services().size, 30)
  await admin.del(keys.slow('svc-0'))
  await roomy.step(5_000)
  t.equal(roomy.services().size, 30, 'kept until the next pass')
  await roomy.step(10_000)
  t.equal(roomy.services().size, 29, 'gone once a pass has ended without it')
  t.notOk(roomy.services().has('svc-0'))
})
