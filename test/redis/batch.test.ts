import t from 'tap'
import { Redis } from 'ioredis'
import { createBatch, type Slot } from '../../server/redis/batch.js'
import { useRedis } from '../helpers/redis-server.js'

const { server: redisServer, redis } = await useRedis(t)

t.test('each slot holds its own reply when items queue different numbers of commands', async (t) => {
  await redis.flushall()
  // item i has i list entries and a hash only when i is even, so a reader that assumed a fixed
  // number of commands per item would shift every reply after the first odd item
  const items = Array.from({ length: 12 }, (_, i) => ({ name: `item-${i}`, length: i, hash: i % 2 === 0 }))
  for (const item of items) {
    if (item.length > 0) await redis.rpush(`list:${item.name}`, ...Array.from({ length: item.length }, (_, j) => `${item.name}-${j}`))
    if (item.hash) await redis.hset(`hash:${item.name}`, 'owner', item.name)
  }
  const batch = createBatch(redis)
  const slots = [...items].reverse().map((item) => ({
    item,
    length: batch.add<number>((p) => p.llen(`list:${item.name}`)),
    owner: item.hash ? batch.add<string | null>((p) => p.hget(`hash:${item.name}`, 'owner')) : null,
    last: item.length > 0 ? batch.add<string | null>((p) => p.lindex(`list:${item.name}`, -1)) : null,
  }))
  t.equal(batch.size, 12 + 6 + 11)
  await batch.exec()
  for (const { item, length, owner, last } of slots) {
    t.same(length.reply, { ok: true, value: item.length }, `${item.name}: its length`)
    if (owner) t.equal(owner.valueOr(null), item.name, `${item.name}: its hash`)
    if (last) t.equal(last.valueOr(null), `${item.name}-${item.length - 1}`, `${item.name}: its last entry`)
  }
})

t.test('an error reply stays in its own slot; the neighbours are read', async (t) => {
  await redis.flushall()
  await redis.set('a-string', 'x')
  await redis.rpush('a-list', '1', '2')
  const batch = createBatch(redis)
  const before = batch.add<number>((p) => p.llen('a-list'))
  const wrong = batch.add<number>((p) => p.llen('a-string'))
  const after = batch.add<string | null>((p) => p.get('a-string'))
  await batch.exec()
  t.equal(before.valueOr(-1), 2)
  t.equal(wrong.reply.ok, false)
  t.match(wrong.reply.ok ? '' : wrong.reply.error.message, /^WRONGTYPE/)
  t.equal(wrong.valueOr('fallback'), 'fallback')
  t.equal(after.valueOr(null), 'x')
})

t.test('a slot must be exactly one command, and is read only after the batch ran', async (t) => {
  const twice = createBatch(redis)
  twice.add((p) => p.get('first'))
  t.throws(() => twice.add((p) => p.get('a').get('b')), /one command, not 2/)
  await t.rejects(twice.exec(), /out of step/, 'a batch with a bad slot never runs')
  t.throws(() => createBatch(redis).add(() => undefined), /one command, not 0/)
  const batch = createBatch(redis)
  const slot: Slot<string | null> = batch.add((p) => p.get('a'))
  t.throws(() => slot.reply, /before the batch ran/)
  await batch.exec()
  t.doesNotThrow(() => slot.reply)
  await t.rejects(batch.exec(), /already ran/)
  t.throws(() => batch.add((p) => p.get('a')), /already ran/)
})

t.test('an empty batch sends nothing', async (t) => {
  let sent = 0
  const counting = {
    pipeline: () => {
      const pipeline = redis.pipeline()
      const exec = pipeline.exec.bind(pipeline)
      pipeline.exec = () => (sent++, exec())
      return pipeline
    },
  }
  await createBatch(counting).exec()
  t.equal(sent, 0, 'no round trip for an empty batch')
  const one = createBatch(counting)
  one.add((p) => p.ping())
  await one.exec()
  t.equal(sent, 1, 'one round trip for a batch of one')
})

t.test('a connection that is gone shows in every slot', async (t) => {
  const gone = new Redis({ port: redisServer.port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
  gone.on('error', () => {})
  t.teardown(() => gone.disconnect())
  const batch = createBatch(gone)
  const slots = [batch.add((p) => p.get('a')), batch.add((p) => p.llen('b'))]
  await batch.exec().catch(() => {})
  for (const slot of slots) {
    const reply = (() => {
      try {
        return slot.reply
      } catch {
        return null
      }
    })()
    t.ok(reply === null || !reply.ok, 'no slot reads as a value')
  }
})
