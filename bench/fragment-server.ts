/**
 * The console as it runs in production (collector loop, cached fragments) plus, for comparison, a
 * naive handler that does what per-request monitors do: SCAN and read Redis on every request,
 * then render the same template. Run as a child process so the load generator does not share its
 * event loop. Prints the listening port on stdout.
 */
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import fp from 'fastify-plugin'
import zenith from '../server/app.js'
import { parseConfig } from '../server/config.js'
import { buildPulseView } from '../server/nodes/service.js'
import { byServiceThenNode, type NodeRecord, type Snapshot } from '../server/collector/snapshot.js'
import { readHeartbeat } from '@gravito/quasar/protocol'
import { viewHelpers as h } from '../server/nodes/view-helpers.js'
import { NODE_PARTS, readStatus } from '../server/collector/part-status.js'

const redisUrl = process.argv[2]!
const config = parseConfig({ selfMonitor: false, logLevel: 'warn', tickMs: 2000 })
// logs to stderr: stdout carries only the port, for the parent
const app = Fastify({ logger: { level: 'warn', stream: process.stderr } })
// fp: the app's decorators (app.collector, app.redis) land on this instance, for the naive route
await app.register(fp(async (scope) => zenith(scope, { config: { ...config, redisUrl }, clock: Date.now, autoStart: true })))

// its own plain client, as a per-request monitor would have: the console's connection carries a
// command timeout meant for the collector, which this handler's load would trip
const naiveRedis = new Redis(redisUrl)
app.addHook('onClose', async () => void naiveRedis.disconnect())

app.get('/naive/fragments/pulse/nodes', async (_request, reply) => {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await naiveRedis.scan(cursor, 'MATCH', app.keys.nodePattern(), 'COUNT', 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  const values = keys.length > 0 ? await naiveRedis.mget(...keys) : []
  const nodes: NodeRecord[] = []
  values.forEach((raw, i) => {
    const ref = app.keys.parseNode(keys[i]!)
    if (!raw || !ref) return
    const beat = readHeartbeat(JSON.parse(raw))
    if (beat.ok) nodes.push({ ...ref, heartbeat: beat.value, lastSeenAt: beat.value.timestamp, seenAt: Date.now(), keyPresent: true, goneAt: null })
  })
  const snapshot: Snapshot = { version: 0, generatedAt: Date.now(), readMs: 0, redis: { up: true, downSince: null }, parts: {}, nodes: nodes.sort(byServiceThenNode) }
  // the same template and view model as ours; only where the data comes from differs
  const html = await app.view('nodes/nodes', { view: buildPulseView(snapshot), filter: '', redis: readStatus(snapshot, NODE_PARTS), h, spark: app.history.sparklines, decorations: {} })
  return reply.type('text/html').send(html)
})

await app.listen({ host: '127.0.0.1', port: 0 })
await app.collector.refresh()
const address = app.server.address()
process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`)
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
