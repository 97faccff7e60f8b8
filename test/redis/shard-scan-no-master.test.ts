/**
 * A Cluster client between connections (all masters away, or not yet learnt) lists no master. A
 * shard scan over no shard would end its pass at once with no key, and the node part would take
 * that for a fleet that vanished: the step fails instead, so the part keeps its last data and
 * says why. Once masters are listed again, the scan walks them.
 */
import t from 'tap'
import type { Cluster } from 'ioredis'
import { createShardScan } from '../../server/redis/shards.js'

/** a stand-in for a Cluster client: a master list the test sets, each master one page of keys */
function clusterWith(masters: string[][]) {
  const shards = masters.map((keys) => ({ scan: async () => ['0', keys] as [string, string[]] }))
  return Object.assign({ isCluster: true, scan: async () => ['0', []] as [string, string[]] }, { nodes: () => shards }) as unknown as Cluster & { nodes(): typeof shards }
}

t.test('no master listed: the step fails with a reason, not an empty pass', async (t) => {
  const scan = createShardScan(clusterWith([]), { match: '*', count: 100 })
  await t.rejects(scan.step(), /no Redis Cluster master is connected/)
})

t.test('masters listed again: the next step walks every one of them', async (t) => {
  let masters: string[][] = []
  const client = clusterWith([])
  ;(client as unknown as { nodes: () => unknown }).nodes = () => masters.map((keys) => ({ scan: async () => ['0', keys] }))
  const scan = createShardScan(client, { match: '*', count: 100 })
  await t.rejects(scan.step())
  masters = [['a', 'b'], ['c'], ['d', 'e']]
  const step = await scan.step()
  t.same(step.keys.sort(), ['a', 'b', 'c', 'd', 'e'])
  t.equal(step.finished, true)
})
