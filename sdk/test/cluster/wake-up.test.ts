/**
 * The agent's wake-up on a real 3-master Cluster, for Redis and Valkey: its one subscriber
 * connection sits on one node, and a console may publish through any of them. A wake published
 * on each master in turn must reach it; one on another node's channel must not.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { ENGINES } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { createKeys, WAKE_UP_MESSAGE } from '../../src/protocol/index.js'
import { openWakeUp } from '../../src/commands/wake-up.js'
import { appCluster, useCluster } from './cluster-fixtures.js'

const keys = createKeys()

for (const engine of ENGINES) {
  t.test(`${engine}: a wake published on any master reaches the agent's one subscriber`, async (t) => {
    const { cluster } = await useCluster(t, engine)
    const channel = keys.commandChannel('billing', 'worker-1')
    let wakes = 0
    const errors: unknown[] = []
    const wakeUp = openWakeUp({ transport: appCluster(t, cluster), channel, connectionName: 'test-wake', onWake: () => void wakes++, report: (error) => void errors.push(error) })
    t.teardown(() => wakeUp.close())
    // subscribing wakes it once, to read what was added while it was away
    await eventually(() => wakes === 1, 'subscribed')

    const masters = cluster.nodes.map(({ host, port }) => new Redis({ host, port }))
    t.teardown(() => Promise.all(masters.map((master) => master.quit())))
    const named = await Promise.all(masters.map(async (master) => ((await master.client('LIST')) as string).split('\n').filter((line) => / name=test-wake /.test(line)).length))
    t.ok(
      named.some((count) => count > 0),
      `the subscriber carries the agent's connection name, as CLIENT LIST shows it (${named.join(', ')})`,
    )
    for (const [n, master] of masters.entries()) {
      await master.publish(channel, WAKE_UP_MESSAGE)
      await eventually(() => wakes === n + 2, `woken through ${cluster.nodes[n]!.port}`)
    }
    await masters[0]!.publish(keys.commandChannel('billing', 'worker-2'), WAKE_UP_MESSAGE)
    // published after it through the same node, so it arrives after it: the other must have been ignored
    await masters[0]!.publish(channel, WAKE_UP_MESSAGE)
    await eventually(() => wakes >= masters.length + 2, 'the last wake')
    t.equal(wakes, masters.length + 2, "another node's channel does not wake it")
    t.same(errors, [])
  })
}
