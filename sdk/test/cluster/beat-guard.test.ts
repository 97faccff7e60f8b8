/**
 * The beat guard on a Redis Cluster, where ioredis keeps no queue of sent commands on the Cluster
 * itself but on each node's connection: the master holding the node key is paused with CLIENT
 * PAUSE, so its beat goes unanswered; the next beat is skipped rather than piled up behind it,
 * the unanswered one is withdrawn by closing the connection, and Redis never runs it late.
 */
import t from 'tap'
import calculateSlot from 'cluster-key-slot'
import { Redis } from 'ioredis'
import { ENGINES } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { BeatDroppedError, QuasarAgent } from '../../src/index.js'
import { heartbeatOf, PREFIX, useCluster } from './cluster-fixtures.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const PAUSE_MS = 6_000

for (const engine of ENGINES) {
  t.test(`${engine}: a paused master gets one beat, which is withdrawn and never run`, async (t) => {
    const { cluster, admin } = await useCluster(t, engine)
    const errors: unknown[] = []
    const agent = new QuasarAgent({ service: 'paused', nodeId: 'p1', url: cluster.url, cluster: true, intervalMs: 600_000, onError: (error) => void errors.push(error) })
    t.teardown(() => agent.stop())
    await eventually(() => agent.beat(), 'a first beat written', 30_000, 200)
    const before = await heartbeatOf(admin, 'paused', 'p1')
    t.ok(before)

    const nodeKey = `${PREFIX}node:paused:p1`
    const [host, port] = admin.slots[calculateSlot(nodeKey)]![0]!.split(':')
    const holder = new Redis({ host, port: Number(port) })
    t.teardown(() => holder.disconnect())
    await holder.call('CLIENT', 'PAUSE', PAUSE_MS, 'ALL')

    t.equal(await agent.beat(), false, 'the beat sent into the paused master is not answered')
    t.equal(await agent.beat(), false, 'the next one is not sent behind it')
    const dropped = (reason: string) => errors.filter((error) => error instanceof BeatDroppedError && error.reason === reason).length
    t.equal(dropped('unanswered'), 1, 'skipped because the previous beat is unanswered')
    await eventually(() => agent.beatCounts.withdrawn === 1, 'the unanswered beat withdrawn')

    // answered once the pause ends: the key still holds the beat from before it
    t.same((await heartbeatOf(admin, 'paused', 'p1'))?.timestamp, before!.timestamp, 'the withdrawn beat never ran')
    await eventually(() => agent.beat(), 'beats resume', 30_000, 200)
    t.ok((await heartbeatOf(admin, 'paused', 'p1'))!.timestamp > before!.timestamp)
  })
}

t.test('no unhandled rejection', async (t) => {
  t.same(unhandled, [])
})
