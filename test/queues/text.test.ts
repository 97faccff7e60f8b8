/**
 * `truncate`, used on failed jobs the console reads itself (BullMQ data, reasons, stacks): marks
 * the cut, never splits a surrogate pair, and keeps no multi-megabyte original alive.
 */
import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { truncate } from '../../server/queues/text.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test('marks the cut and keeps surrogate pairs whole', async (t) => {
  t.equal(truncate('abc', 3), 'abc')
  t.equal(truncate('abcd', 3), 'ab…')
  t.equal(truncate('a😀b', 3), 'a…', 'the pair goes whole')
  t.equal(truncate('x'.repeat(10_000), 4096).length, 4096)
})

t.test('a truncated value frees its original', async (t) => {
  const held = () => process.memoryUsage().heapUsed + process.memoryUsage().external
  gc()
  const before = held()
  // 20 job payloads of 5 MB, decoded as ioredis decodes a reply, each cut to 4 KB
  const kept = Array.from({ length: 20 }, (_, i) => truncate(Buffer.alloc(5 * 1024 * 1024, 97 + i).toString('utf8'), 4096))
  gc()
  const growth = held() - before
  t.equal(kept.length, 20)
  t.ok(growth < 25 * 1024 * 1024, `20 cuts of 5 MB payloads hold ${(growth / 1024 / 1024).toFixed(1)} MB (views into them would hold 100 MB)`)
})
