/**
 * Property tests: the protocol readers never throw whatever an agent wrote, every agent string is
 * escaped wherever the console renders it, and names round-trip through the key builders. The
 * generators mix in the characters that break things (`< > " ' & : * { }`, lone surrogates, RTL
 * and zero-width marks, `</script>`, `javascript:`): plain random strings rarely contain them.
 */
import t from 'tap'
import fc from 'fast-check'
import { createKeys, isValidName, parseAgentJson, readHeartbeat, readQueueSnapshot } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const DANGEROUS = ['<', '>', '"', "'", '&', ':', '*', '{', '}', '\uD800', '\uDFFF', '\u202E', '\u200B', '</script>', 'javascript:', '`', '\\', '\u0000', '${x}', '<%= it %>']

/** Strings built from dangerous pieces and ordinary text, in any order. */
const hostile = fc.array(fc.oneof(fc.constantFrom(...DANGEROUS), fc.string({ maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 12 }).map((parts) => parts.join(''))

/** Any JSON-ish value, deep and wide, with hostile keys and strings. */
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostile,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(hostile, fc.constantFrom('__proto__', 'constructor', 'prototype', 'timestamp', 'queues', 'cpu')), tie('value'), { maxKeys: 6 }),
  ),
})).value

t.test('the readers never throw, whatever they are given', async (t) => {
  fc.assert(
    fc.property(anyValue, (value) => {
      readHeartbeat(value)
      readQueueSnapshot(value)
      parseAgentJson(JSON.stringify(value) ?? 'undefined')
    }),
    { numRuns: 300 },
  )
  fc.assert(
    fc.property(hostile, (text) => void parseAgentJson(text)),
    { numRuns: 300 },
  )
  // a heartbeat whose fields are all replaced by anything at all
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...Object.keys(sampleHeartbeat({ timestamp: 1 }))), anyValue), (fields) => {
      const result = readHeartbeat({ ...sampleHeartbeat({ timestamp: 1 }), ...fields })
      if (result.ok) t.equal(typeof result.value.timestamp, 'number')
    }),
    { numRuns: 200 },
  )
  t.equal(parseAgentJson('['.repeat(200_000)).ok, false, 'deep nesting is an error, not a crash')
  t.equal(Object.getPrototypeOf({} as object), Object.prototype, 'no prototype was polluted')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('readHeartbeat never copies __proto__ or unknown fields', async (t) => {
  const raw = '{"timestamp":1,"__proto__":{"polluted":true},"constructor":{"x":1},"hostname":"h"}'
  const parsed = parseAgentJson(raw)
  t.ok(parsed.ok)
  const beat = readHeartbeat(parsed.ok ? parsed.value : null)
  t.ok(beat.ok)
  if (beat.ok) {
    t.equal(Object.hasOwn(beat.value, '__proto__'), false)
    t.equal((beat.value as Record<string, unknown>).polluted, undefined)
    t.equal(Object.hasOwn(beat.value, 'constructor'), false)
  }
})

t.test('names round-trip through the key builders; anything else never parses', async (t) => {
  const keys = createKeys()
  const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/)
  fc.assert(
    fc.property(name, name, (service, nodeId) => {
      t.same(keys.parseNode(keys.node(service, nodeId)), { service, nodeId })
      t.same(keys.parseIndexMember(keys.indexMember(service, nodeId)), { service, nodeId })
      t.equal(keys.parseQueues(keys.queues(service)), service)
      t.equal(keys.parseSlow(keys.slow(service)), service)
    }),
    { numRuns: 300 },
  )
  fc.assert(
    fc.property(hostile, name, (bad, good) => {
      fc.pre(!isValidName(bad))
      t.equal(keys.parseNode(keys.node(bad, good)), null)
      t.equal(keys.parseNode(keys.node(good, bad)), null)
      t.equal(keys.parseQueues(keys.queues(bad)), null)
    }),
    { numRuns: 300 },
  )
})

t.test('every agent string is escaped on every page that shows it', async (t) => {
  const { server: redisServer, redis } = await useRedis(t)
  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  const keys = createKeys()
  let run = 0

  await fc.assert(
    fc.asyncProperty(fc.array(hostile, { minLength: 8, maxLength: 8 }), async (texts) => {
      run++
      await redis.flushall()
      // each field gets generated text around a marker that must never appear as markup
      const marker = (field: string) => `<x-evil-${run}-${field} a="1">`
      const value = (i: number, field: string) => `${texts[i]}${marker(field)}"'${texts[(i + 1) % 8]}`
      const beat = {
        ...sampleHeartbeat({ timestamp: Date.now(), id: 'n1', service: 'svc' }),
        hostname: value(0, 'hostname'),
        version: value(1, 'version'),
        platform: value(2, 'platform'),
        appVersion: value(3, 'appVersion'),
        runtime: { uptime: 10, framework: value(4, 'framework') },
        disk: { path: value(5, 'disk'), total: 100, free: 50 },
        id: value(6, 'id'),
      }
      await redis.set(keys.node('svc', 'n1'), JSON.stringify(beat), 'EX', 60)
      await redis.zadd(keys.nodeIndex(), Date.now(), keys.indexMember('svc', 'n1'))
      await app.collector.refresh()
      const api = (await app.inject('/api/pulse/nodes')).json() as { services: { nodes: { hostname: string }[] }[] }
      t.equal(api.services[0]?.nodes[0]?.hostname, beat.hostname, 'the API hands the string back unchanged, as JSON')
      for (const url of ['/pulse', '/fragments/pulse/nodes', '/pulse/svc/n1', '/alerts']) {
        const response = await app.inject(url)
        t.equal(response.statusCode, 200, url)
        t.notMatch(response.body, `<x-evil-${run}-`, `${url}: no agent string became markup`)
        t.notMatch(response.body, /<script(?![^>]*\ssrc="\/assets\/)/, `${url}: no script from agent data`)
      }
      const page = (await app.inject('/pulse')).body
      t.match(page, `&lt;x-evil-${run}-hostname a=&quot;1&quot;&gt;`, 'the hostname is shown, escaped')
    }),
    { numRuns: 25 },
  )
})
