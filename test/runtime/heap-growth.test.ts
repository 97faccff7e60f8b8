/** `zenith start` caps V8's heap growth unless node was given its own choice. */
import t from 'tap'
import { limitHeapGrowth } from '../../server/runtime/heap-growth.js'

t.test('an operator choice on the command line or in NODE_OPTIONS is left alone', async (t) => {
  t.equal(limitHeapGrowth(['--heap-growing-percent=50'], ''), false)
  t.equal(limitHeapGrowth(['--inspect', '--heap_growing_percent=80'], ''), false, 'V8 accepts underscores too')
  t.equal(limitHeapGrowth([], '--max-old-space-size=512 --heap-growing-percent=10'), false)
})

t.test('otherwise the cap is set', async (t) => {
  t.equal(limitHeapGrowth(['--enable-source-maps'], '--max-old-space-size=512'), true)
})
