/**
 * The queue snapshot example in PROTOCOL.md is read by the same reader the console uses, entry by
 * entry, so the document cannot drift from the schema.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { readQueueSnapshot, snapshotQueueSchema } from '../../src/protocol/index.js'

const protocol = readFileSync(new URL('../../../PROTOCOL.md', import.meta.url), 'utf8')
const section = protocol.slice(protocol.indexOf('### Queue snapshot'), protocol.indexOf('### Queues in a heartbeat'))

t.test('the queue snapshot example is a valid snapshot, every entry kept', async (t) => {
  const example = /```json\n([\s\S]*?)\n```/.exec(section)?.[1]
  t.ok(example, 'the section has a JSON example')
  const read = readQueueSnapshot(JSON.parse(example!))
  t.ok(read.ok)
  if (!read.ok) return
  t.same(read.skipped, [])
  t.equal(read.value.queues.length, 2)
  for (const entry of read.value.queues) t.ok(snapshotQueueSchema.safeParse(entry).success, entry.name)
})
