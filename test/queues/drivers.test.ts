/**
 * The discovery driver contract: a queue system the registry does not know is found, read and
 * listed by handing the queues part one more driver, next to the registry's own; nothing else in
 * the scanner or the part knows which drivers exist. Against a real Redis.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { createQueuesCollector } from '../../server/queues/collector-part.js'
import { DISCOVERY_DRIVERS } from '../../server/queues/drivers/registry.js'
import type { DiscoveredCounts, DiscoveredRef, DiscoveryDriver } from '../../server/queues/drivers/contract.js'
import { pipelineBySlot } from '../../server/redis/shards.js'
import { createConsoleKeys } from '../../server/redis/keys.js'
import type { Snapshot } from '../../server/collector/snapshot.js'
import { keys, laravelPayload } from './helpers.js'

const { redis } = await useRedis(t)

/** a plain list per queue, `jobs:{queue}`: all a driver needs is this object */
const listDriver: DiscoveryDriver = {
  driver: 'redis-list',
  pattern: 'jobs:*',
  refOf: (key) => (key.startsWith('jobs:') && key.length > 'jobs:'.length ? { prefix: 'jobs', queue: key.slice('jobs:'.length) } : null),
  serviceOf: (prefix) => `${prefix}-lists`,
  createReader: (client) => async (refs) => {
    const batch = pipelineBySlot(client)
    const lengths = refs.map((ref) => ({ ref, length: batch.add<number>(`jobs:${ref.queue}`, (p) => p.llen(`jobs:${ref.queue}`)) }))
    await batch.exec()
    const counts = new Map<DiscoveredRef, DiscoveredCounts>()
    // a key of another type is left out: that queue is skipped, the others read
    for (const { ref, length } of lengths) if (length.reply.ok) counts.set(ref, { waiting: length.reply.value, active: null, delayed: null, failed: null })
    return counts
  },
}

const previous = { nodes: [] } as unknown as Snapshot
const NOW = Date.UTC(2026, 11, 1, 12)

t.test('a driver outside the registry finds, reads and lists its queues beside the registry drivers', async (t) => {
  await redis.flushall()
  // lists of many lengths, written in a scrambled order, and one key of the wrong type
  const lengths = [5, 0, 12, 1, 7, 3, 9, 2, 11, 4, 8, 6].map((length, i) => ({ queue: `q${(i * 7) % 12}`, length }))
  for (const { queue, length } of lengths) if (length > 0) await redis.rpush(`jobs:${queue}`, ...Array.from({ length }, (_, j) => `job-${j}`))
  await redis.set('jobs:broken', 'not a list')
  await redis.rpush('queues:emails', laravelPayload('1', NOW / 1000 - 30))
  const consoleKeys = createConsoleKeys(keys.prefix)
  const badData = { report: () => {} }

  const withDriver = createQueuesCollector(redis, consoleKeys, badData, { drivers: [...DISCOVERY_DRIVERS, listDriver] })
  const part = (await withDriver.collect(NOW, previous))!
  const lists = part.items.filter((item) => item.driver === 'redis-list')
  // an empty list does not exist in Redis: only the non-empty ones are found
  // in natural order, as every list a person reads: q2 before q10
  const expected = lengths.filter(({ length }) => length > 0).sort((a, b) => Number(a.queue.slice(1)) - Number(b.queue.slice(1)))
  t.same(
    lists.map((item) => [item.name, item.waiting]),
    expected.map(({ queue, length }) => [queue, length]),
    'every list, with its own length',
  )
  for (const item of lists) t.match(item, { service: 'jobs-lists', prefix: 'jobs', source: 'discovered', commands: [], failed: null, timestamp: NOW })
  t.notOk(
    part.items.some((item) => item.name === 'broken'),
    'the unreadable key is skipped alone',
  )
  t.same(
    part.items.filter((item) => item.driver === 'laravel').map((item) => [item.service, item.name, item.waiting]),
    [['laravel', 'emails', 1]],
    'the registry drivers still run',
  )

  const registryOnly = createQueuesCollector(redis, consoleKeys, badData)
  const without = (await registryOnly.collect(NOW, previous))!
  t.same(
    without.items.filter((item) => item.driver === 'redis-list'),
    [],
    'without the driver no list is a queue',
  )
  t.equal(without.items.length, 1)
})
