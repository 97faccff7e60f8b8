import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const { server: redisServer, redis } = await useRedis(t)

const prefix = 'gravito:quasar:node:'

/** Each case writes one bad key beside a good node; the good node must survive every case. */
const cases: { name: string; key: string; write: (key: string, now: number) => Promise<unknown>; reason: RegExp }[] = [
  { name: 'malformed JSON', key: `${prefix}svc:bad-json`, write: (k) => redis.set(k, '{"timestamp": 1,', 'EX', 30), reason: /malformed JSON/ },
  { name: 'not an object', key: `${prefix}svc:array`, write: (k) => redis.set(k, '[1,2,3]', 'EX', 30), reason: /not a JSON object/ },
  { name: 'non-finite timestamp', key: `${prefix}svc:inf`, write: (k) => redis.set(k, '{"timestamp": 1e999}', 'EX', 30), reason: /timestamp/ },
  { name: 'timestamp of the wrong type', key: `${prefix}svc:str-ts`, write: (k) => redis.set(k, '{"timestamp": "now"}', 'EX', 30), reason: /timestamp/ },
  { name: 'value over 64 KB', key: `${prefix}svc:huge`, write: (k, now) => redis.set(k, JSON.stringify({ timestamp: now, hostname: 'x'.repeat(70_000) }), 'EX', 30), reason: /over 65536/ },
  { name: 'a hash at a node key', key: `${prefix}svc:hash`, write: (k) => redis.hset(k, 'timestamp', '1'), reason: /holds a hash/ },
  { name: 'a list at a node key', key: `${prefix}svc:list`, write: (k) => redis.rpush(k, 'a'), reason: /holds a list/ },
  { name: 'service name with a space', key: `${prefix}bad service:n1`, write: (k, now) => redis.set(k, JSON.stringify({ timestamp: now }), 'EX', 30), reason: /name rule/ },
  { name: 'node name with a glob character', key: `${prefix}svc:n*1`, write: (k, now) => redis.set(k, JSON.stringify({ timestamp: now }), 'EX', 30), reason: /name rule/ },
  { name: 'node name with a brace', key: `${prefix}svc:{n1}`, write: (k, now) => redis.set(k, JSON.stringify({ timestamp: now }), 'EX', 30), reason: /name rule/ },
  { name: 'key without a node part', key: `${prefix}lonely`, write: (k, now) => redis.set(k, JSON.stringify({ timestamp: now }), 'EX', 30), reason: /name rule/ },
]

for (const bad of cases) {
  t.test(`${bad.name}: skipped, logged once, the good node still shown`, async (t) => {
    await redis.flushall()
    const clock = fakeClock()
    const logLines: string[] = []
    const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines })
    t.teardown(() => app.close())
    await redis.set(`${prefix}svc:good`, JSON.stringify(sampleHeartbeat({ timestamp: clock() })), 'EX', 30)
    await bad.write(bad.key, clock())

    for (let tick = 0; tick < 3; tick++) {
      await app.collector.refresh()
      clock.advance(2_000)
    }
    const body = (await app.inject('/api/pulse/nodes')).json()
    const ids = body.services.flatMap((s: { nodes: { id: string }[] }) => s.nodes.map((n) => n.id))
    t.same(ids, ['good'], 'only the good node is listed')
    const warnings = logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'skipped bad agent data')
    t.equal(warnings.length, 1, 'logged once over three ticks')
    t.match(warnings[0]?.reason, bad.reason)
    t.equal((await app.inject('/pulse')).statusCode, 200, 'the page still renders')
  })
}

t.test('a field of the wrong shape is dropped, the rest of the node kept', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines })
  t.teardown(() => app.close())
  const beat = { ...sampleHeartbeat({ timestamp: clock() }), cpu: { system: 'high', process: 1, cores: 2 }, pid: -5, __proto__: { polluted: true } }
  await redis.set(`${prefix}svc:partial`, JSON.stringify(beat).replace('"hostname"', '"__proto__":{"polluted":true},"hostname"'), 'EX', 30)
  await app.collector.refresh()
  const node = (await app.inject('/api/pulse/nodes')).json().services[0].nodes[0]
  t.same(node.cpu, { process: 1, cores: 2 }, 'cpu.system with a string value is dropped, the rest of cpu kept')
  t.equal(node.pid, undefined, 'negative pid is dropped')
  t.equal(node.hostname, 'web-1', 'valid fields are kept')
  t.equal(node.polluted, undefined)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution')
  const warning = logLines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'skipped bad agent data')
  // one line per key is logged (rate limit); every skip is reported as `field: reason`
  t.match(warning?.reason, /^(pid: -5 is negative|cpu\.system: a string, not a number)$/)
})
