/**
 * The node cards' decorator registry: what an area registers reaches the cards it names, bound to
 * the snapshot being rendered, and with nothing registered the cards render without it. Built from
 * the area plugins alone, without the alerts area that registers `firing` in the console.
 */
import t from 'tap'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { fakeClock } from '../helpers/app.js'
import views from '../../server/web/views-plugin.js'
import requestValidation from '../../server/web/validate.js'
import redisPlugin from '../../server/redis/plugin.js'
import collector from '../../server/collector/plugin.js'
import nodes from '../../server/nodes/plugin.js'
import history from '../../server/history/plugin.js'
import type { NodeCardDecorator } from '../../server/nodes/decorators.js'

const keys = createKeys()
const { server: redisServer, redis } = await useRedis(t)
const clock = fakeClock(Date.now())

const NODES = ['node-1', 'node-2', 'node-3']
for (const id of NODES) await redis.set(keys.node('billing', id), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id, service: 'billing' })), 'EX', 3600)

async function consoleWith(decorators: Record<string, NodeCardDecorator>) {
  const app = Fastify({ logger: { level: 'silent' } })
  await app.register(views)
  await app.register(requestValidation)
  await app.register(redisPlugin, { url: redisServer.url, prefix: 'gravito:quasar:' })
  await app.register(collector, { clock, tickMs: 2_000, autoStart: false, partTimeoutMs: 10_000 })
  await app.register(nodes, { graceMs: 60_000, sliceMs: 50 })
  await app.register(history, { clock, sliceMs: 50, tickMs: 2_000 })
  await app.register(
    fp(async (scope) => {
      for (const [name, decorator] of Object.entries(decorators)) scope.nodeCardDecorators.add(name, decorator)
    }),
  )
  await app.ready()
  await app.collector.refresh()
  return app
}

/** each node's card, by node id */
function cards(html: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const card of html.split('<article class="node ').slice(1)) {
    const id = /\((node-\d)\)/.exec(card)?.[1]
    if (id) found.set(id, card.slice(0, card.indexOf('</article>')))
  }
  return found
}

t.test('a registered decorator reaches the cards it names, from the snapshot being rendered', async (t) => {
  const versions: number[] = []
  const app = await consoleWith({
    firing: (snapshot) => {
      versions.push(snapshot.version)
      return (service, nodeId) => (service === 'billing' && nodeId !== 'node-2' ? [{ rule: `probe-${nodeId}-v${snapshot.version}`, value: '99%', condition: '> 90%', firingFor: '1m' }] : [])
    },
  })
  t.teardown(() => app.close())
  for (const render of [1, 2]) {
    if (render === 2) await app.collector.refresh()
    const version = app.collector.snapshot.version
    const byNode = cards((await app.inject('/fragments/pulse/nodes')).body)
    t.same([...byNode.keys()].sort(), NODES, 'every node has a card')
    t.match(byNode.get('node-1'), `probe-node-1-v${version}`, `render ${render}: node-1 shows what the decorator gave for it, from snapshot ${version}`)
    t.match(byNode.get('node-3'), `probe-node-3-v${version}`)
    t.notMatch(byNode.get('node-2'), /node-alerts/, 'node-2, for which it gave nothing, shows no list')
    t.equal(versions.at(-1), version, 'bound to the snapshot rendered')
  }
})

t.test('with none registered the cards render without it', async (t) => {
  const app = await consoleWith({})
  t.teardown(() => app.close())
  const response = await app.inject('/fragments/pulse/nodes')
  t.equal(response.statusCode, 200)
  const byNode = cards(response.body)
  t.same([...byNode.keys()].sort(), NODES, 'every node has a card')
  for (const [id, card] of byNode) t.notMatch(card, /node-alerts/, `${id}: no alert list`)
})

t.test('one name is one decorator', async (t) => {
  const app = await consoleWith({ firing: () => () => [] })
  t.teardown(() => app.close())
  t.throws(() => app.nodeCardDecorators.add('firing', () => () => []), /already registered/)
})
