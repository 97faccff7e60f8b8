/**
 * Keys at slow-stream names that are not streams (a hash, a list, a string, a sorted set) are
 * skipped and reported with their type on every tick, while the other services' entries are read
 * in the same ticks. The console connects as the documented `zenith-console` user, so the read
 * script runs with exactly the rights docs/security.md gives.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { documentedAclLines, documentedUserUrl, setUserArgs } from '../helpers/documented-acl.js'
import { addEntry, keys, slowCollector } from './helpers.js'

const { server: redisServer, redis: admin } = await useRedis(t)
for (const line of documentedAclLines) await admin.call('ACL', 'SETUSER', ...setUserArgs(line))

const entry = (name: string, timestamp: number) => ({ kind: 'job', name, durationMs: 1200, timestamp, nodeId: 'n1' })

t.test('wrong-typed keys are skipped and reported; the other streams are read', async (t) => {
  await addEntry(admin, 'good-a', entry('a1', 1))
  await admin.hset(keys.slow('hashed'), 'kind', 'job')
  await addEntry(admin, 'good-b', entry('b1', 2))
  await admin.rpush(keys.slow('listy'), 'x')
  await admin.set(keys.slow('stringy'), 'x'.repeat(1_000_000))
  await admin.zadd(keys.slow('sorted'), 1, 'x')
  await admin.xadd(`${keys.prefix}slow:bad name`, '*', 'kind', 'job')
  const slow = slowCollector(documentedUserUrl(redisServer.url, 'zenith-console'))
  t.teardown(() => slow.close())

  // 'listy' is known from a beating node, the others from the SCAN
  const first = await slow.tick(['listy', 'good-a'])
  t.same(
    first.entries.map((e) => e.name),
    ['b1', 'a1'],
  )
  const reasons = new Map(slow.reports.map((r) => [r.key, r.reason]))
  t.equal(reasons.get(keys.slow('hashed')), 'key holds a hash, not a stream')
  t.equal(reasons.get(keys.slow('listy')), 'key holds a list, not a stream')
  t.equal(reasons.get(keys.slow('stringy')), 'key holds a string, not a stream')
  t.equal(reasons.get(keys.slow('sorted')), 'key holds a zset, not a stream')
  t.equal(reasons.get(`${keys.prefix}slow:bad name`), 'key name outside the name rule')

  for (let tick = 2; tick <= 4; tick++) {
    await addEntry(admin, 'good-a', entry(`a${tick}`, tick * 10))
    await addEntry(admin, 'good-b', entry(`b${tick}`, tick * 10 + 1))
    const { entries } = await slow.tick(['listy', 'good-a'])
    t.same(
      entries.slice(0, 2).map((e) => e.name),
      [`b${tick}`, `a${tick}`],
      `tick ${tick}: the new entries are read`,
    )
  }
  t.equal(slow.reports.filter((r) => r.key === keys.slow('hashed')).length, 4, 'reported on every tick (the log decides what to print)')

  // a restart or SCRIPT FLUSH forgets the script: the next read loads it again
  await admin.script('FLUSH')
  await addEntry(admin, 'good-a', entry('a5', 50))
  t.equal((await slow.tick(['listy', 'good-a'])).entries[0]?.name, 'a5', 'read after the script cache was flushed')

  // the key becomes a stream: read from then on
  await admin.del(keys.slow('hashed'))
  await addEntry(admin, 'hashed', entry('h1', 100))
  const { entries } = await slow.tick(['listy', 'good-a'])
  t.equal(entries[0]?.name, 'h1')
  t.equal(entries[0]?.service, 'hashed')
})
