/**
 * The /pulse page, its nodes fragment and the nodes JSON are compressed a service group at a time
 * for gzip clients, the page around the fragment's cached piece (server/nodes/render.ts). Whatever
 * the fleet, a gzip client must get the bytes a client without gzip gets, and those the templates
 * and JSON.stringify make whole.
 */
import t, { type Test } from 'tap'
import { gunzipSync } from 'node:zlib'
import { createKeys } from '@gravito/quasar/protocol'
import type { FastifyInstance } from 'fastify'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { buildPulseView, toNodesApi } from '../../server/nodes/service.js'

const keys = createKeys()
const { server: redisServer, redis } = await useRedis(t)

interface Fleet {
  services: number
  nodes: number
  /** the order nodes are written in */
  order: (i: number, count: number) => number
}

/**
 * Nodes of several services in every state: fresh, stale (an older beat), dead (key deleted, kept
 * for the grace period), with missing and hostile fields (text that needs escaping, multibyte
 * names), and groups larger than a group shows.
 */
async function writeFleet(app: FastifyInstance, clock: ReturnType<typeof fakeClock>, fleet: Fleet) {
  await redis.flushall()
  const dead: string[] = []
  for (let n = 0; n < fleet.nodes; n++) {
    const i = fleet.order(n, fleet.nodes)
    const service = `svc-${(i * 7) % fleet.services}`
    const nodeId = `n-${i}`
    const beat: Record<string, unknown> = { ...sampleHeartbeat({ timestamp: clock(), id: nodeId, service, hostname: `host <${i}> & "é ✓"`, pid: 1000 + i }) }
    if (i % 5 === 1) delete beat.disk
    if (i % 7 === 2) beat.cpu = { system: 'lots', process: -1 }
    if (i % 11 === 3) beat.queues = [{ name: `q-${i}`, driver: 'bullmq', metrics: { waiting: i, active: 1, failed: i % 3 } }]
    await redis.multi().set(keys.node(service, nodeId), JSON.stringify(beat), 'EX', 300).zadd(keys.nodeIndex(), clock(), keys.indexMember(service, nodeId)).exec()
    if (i % 9 === 4) dead.push(keys.node(service, nodeId))
  }
  await app.collector.refresh()
  clock.advance(20_000)
  for (let n = 0; n < fleet.nodes; n++) {
    const i = fleet.order(n, fleet.nodes)
    // a third beat again (fresh), the rest go stale
    if (i % 3 === 0) {
      const service = `svc-${(i * 7) % fleet.services}`
      await redis.set(keys.node(service, `n-${i}`), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: `n-${i}`, service, pid: 2000 + i })), 'EX', 300)
    }
  }
  if (dead.length > 0) await redis.del(...dead)
  await app.collector.refresh()
}

const plain = (app: FastifyInstance, url: string) => app.inject({ url })
const gzipped = async (app: FastifyInstance, url: string) => {
  const response = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } })
  return { response, text: response.headers['content-encoding'] === 'gzip' ? gunzipSync(response.rawPayload).toString('utf8') : response.body }
}

async function checkSame(t: Test, app: FastifyInstance, label: string, filters: (string | undefined)[]) {
  for (const filter of filters) {
    const query = filter === undefined ? '' : `?service=${encodeURIComponent(filter)}`
    const page = await plain(app, `/pulse${query}`)
    const zippedPage = await gzipped(app, `/pulse${query}`)
    t.equal(zippedPage.response.headers['content-encoding'], 'gzip', `${label} ${query}: the page is gzipped`)
    t.equal(zippedPage.text, page.body, `${label} ${query}: the gzipped page is the page, byte for byte`)

    // the fragment first gzipped (rendered a group at a time), then unzipped for a plain client
    const zippedFragment = await gzipped(app, `/fragments/pulse/nodes${query}`)
    const fragment = await plain(app, `/fragments/pulse/nodes${query}`)
    t.equal(zippedFragment.text, fragment.body, `${label} ${query}: the gzipped fragment is the fragment`)
    t.ok(page.body.includes(`hx-swap="innerMorph">\n${fragment.body}</div>`), `${label} ${query}: the page holds the fragment as polled`)

    const zippedJson = await gzipped(app, `/api/pulse/nodes${query}`)
    const json = await plain(app, `/api/pulse/nodes${query}`)
    t.equal(json.body, JSON.stringify(toNodesApi(buildPulseView(app.collector.snapshot, filter))), `${label} ${query}: JSON.stringify's bytes`)
    t.equal(zippedJson.text, json.body, `${label} ${query}: the gzipped JSON is the JSON`)
  }
}

t.test('many fleets in many orders and states: gzip and plain clients get the same bytes', async (t) => {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl: redisServer.url, clock })
  t.teardown(() => app.close())
  const fleets: [string, Fleet][] = [
    ['no nodes', { services: 1, nodes: 0, order: (i) => i }],
    ['one node', { services: 1, nodes: 1, order: (i) => i }],
    ['few nodes, many services', { services: 9, nodes: 12, order: (i, count) => count - 1 - i }],
    ['large groups, written backwards', { services: 3, nodes: 260, order: (i, count) => count - 1 - i }],
    ['many services, interleaved', { services: 17, nodes: 300, order: (i, count) => (i * 37) % count }],
  ]
  for (const [label, fleet] of fleets) {
    await writeFleet(app, clock, fleet)
    const names = app.collector.snapshot.nodes.map((node) => node.service)
    await checkSame(t, app, label, [undefined, names[0], names.at(-1), 'no-such-service'])
  }
})
