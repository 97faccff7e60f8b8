/**
 * One agent, with only its documented rights, appends twenty 10 MB entries to its own slow stream.
 * Before, the console's 200-entry XRANGE timed out every tick, the cursor never moved and Redis
 * buffered the replies until it ran out of memory. Now every tick finishes, the neighbour's new
 * entries appear on every tick, the hostile stream is caught up one entry per tick (each cut on
 * the Redis side), and the bytes Redis sends per tick stay under the read budget.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { DEFAULT_SLOW_LIMITS } from '../../server/slow/collector-part.js'
import { addEntry, outputBytes, slowCollector } from './helpers.js'

const { server: redisServer, redis: admin } = await useRedis(t)

const HOSTILE_ENTRIES = 20
const TEN_MB = 10 * 1024 * 1024

t.test('twenty 10 MB entries beside a normal service', async (t) => {
  const huge = 'x'.repeat(TEN_MB)
  const hostileIds: string[] = []
  for (let i = 0; i < HOSTILE_ENTRIES; i++) {
    hostileIds.push(await addEntry(admin, 'hostile', { kind: 'request', name: huge, durationMs: 1000 + i, timestamp: 1_000 + i, nodeId: 'h1' }))
  }
  const slow = slowCollector(redisServer.url)
  t.teardown(() => slow.close())
  // the INFO reply that opens a measurement is itself counted in the next one
  const infoBytes = -(await outputBytes(admin)) + (await outputBytes(admin))
  // both streams read in one tick, each within its share; SCAN replies and headers are small
  const bound = 2 * DEFAULT_SLOW_LIMITS.streamBytes

  const normalIds: string[] = []
  for (let tick = 1; tick <= HOSTILE_ENTRIES + 2; tick++) {
    normalIds.push(await addEntry(admin, 'normal', { kind: 'job', name: `job ${tick}`, durationMs: 500, timestamp: 1_000_000 + tick, nodeId: 'n1' }))
    const before = await outputBytes(admin)
    const part = await slow.tick()
    const sent = (await outputBytes(admin)) - before - infoBytes
    t.ok(sent < bound, `tick ${tick}: Redis sent ${sent} bytes, under ${bound}`)

    const normal = part.entries.filter((e) => e.service === 'normal').map((e) => e.id)
    t.same(normal, [...normalIds].reverse(), `tick ${tick}: every entry of the normal service, the new one included`)
    const hostile = part.entries.filter((e) => e.service === 'hostile')
    t.same(
      hostile.map((e) => e.id),
      hostileIds.slice(HOSTILE_ENTRIES - Math.min(tick, HOSTILE_ENTRIES)).reverse(),
      `tick ${tick}: the hostile stream is read one more entry back`,
    )
  }
  const part = await slow.tick()
  const hostile = part.entries.filter((e) => e.service === 'hostile')
  t.equal(hostile.length, HOSTILE_ENTRIES, 'caught up: every entry once')
  t.ok(
    hostile.every((e) => e.name === 'x'.repeat(256)),
    'each kept with its name cut to 256 characters',
  )
  const cut = slow.reports.filter((r) => r.key.startsWith('gravito:quasar:slow:hostile ') && /cut by/.test(r.reason))
  t.equal(cut.length, HOSTILE_ENTRIES, 'each cut reported once, under its own id')
  t.match(cut[0]?.reason, new RegExp(`entry of ${TEN_MB + 'kind'.length + 'request'.length + 'name'.length + 'durationMs'.length + 4 + 'timestamp'.length + 4 + 'nodeId'.length + 2} bytes cut by \\d+ bytes`))
  t.equal(slow.reports.filter((r) => r.key.includes('normal')).length, 0, 'nothing reported about the normal service')
})
