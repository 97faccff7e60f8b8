/**
 * Cuts of agent text: bounded, never splitting a surrogate pair, and free of their originals.
 * The memory check keeps cuts of 20 strings of 5 MB, drops the strings and runs a full garbage
 * collection: a view into each original (what `slice` returns) keeps 100 MB; own copies keep a
 * few kilobytes.
 */
import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { cutText, ownCopy, readSlowEntry } from '../../src/protocol/index.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heldNow(): number {
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.external
}

const PARENTS = 20
const PARENT_BYTES = 5 * 1024 * 1024

/** bytes still held (V8 heap and external strings) after keeping `cut(parent)` of PARENTS large strings */
function heldAfterCuts(cut: (parent: string, i: number) => unknown): number {
  gc()
  const before = heldNow()
  const kept: unknown[] = []
  // decoded from a buffer as UTF-8, as ioredis decodes a reply: one flat string per value
  for (let i = 0; i < PARENTS; i++) kept.push(cut(Buffer.alloc(PARENT_BYTES, 97 + i).toString('utf8'), i))
  gc()
  const held = heldNow() - before
  t.equal(kept.length, PARENTS)
  return held
}

const MB = 1024 * 1024
/** the last original and its buffer may still be reachable when the collector runs (10 MB here) */
const FREED = (PARENTS * PARENT_BYTES) / 4

t.test('a cut is its own copy: the 5 MB originals are freed', async (t) => {
  t.ok(heldAfterCuts((parent) => parent.slice(0, 256)) > PARENTS * PARENT_BYTES * 0.9, 'control: slice keeps every original (the check can fail)')
  const held = heldAfterCuts((parent) => cutText(parent, 256))
  t.ok(held < FREED, `cutText holds ${(held / MB).toFixed(1)} MB`)
  const marked = heldAfterCuts((parent) => cutText(parent, 4096, '…'))
  t.ok(marked < FREED, `cutText with a marker holds ${(marked / MB).toFixed(1)} MB`)
  const slow = heldAfterCuts((parent, i) => readSlowEntry(`${i + 1}-0`, ['kind', 'job', 'name', parent, 'durationMs', '5', 'nodeId', 'n1', 'error', parent]))
  t.ok(slow < FREED, `slow entries read from 5 MB fields hold ${(slow / MB).toFixed(1)} MB`)
})

t.test('cutText bounds text and never splits a surrogate pair', async (t) => {
  t.equal(cutText('short', 10), 'short')
  t.equal(cutText('abcdefghij', 10), 'abcdefghij', 'exactly at the bound: unchanged')
  t.equal(cutText('abcdefghijk', 10), 'abcdefghij')
  t.equal(cutText('abcdefghijk', 10, '…'), 'abcdefghi…')
  const emoji = 'a😀b'
  t.equal(cutText(emoji, 2), 'a', 'the pair is dropped whole rather than split')
  t.equal(cutText(emoji, 3), 'a😀')
  t.equal(cutText('x'.repeat(300), 256).length, 256)
  t.equal(cutText('é'.repeat(300), 256, '…').length, 256, 'counted in UTF-16 units, marker included')
  const lone = `ab\udc00${'c'.repeat(20)}`
  t.equal(cutText(lone, 10), lone.slice(0, 10), 'a lone surrogate is kept as it is (a UTF-8 round trip would replace it)')
  t.equal(ownCopy(lone), lone)
  t.equal(ownCopy(''), '')
})
