/**
 * /pulse stays bounded whatever the fleet: under 400 KB of HTML at 2,000 nodes, and no larger at
 * 20,000 than at 2,000 but for the digits of its counts. Before the fleet view the page was one
 * card per node: 4 MB at 2,000 nodes.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { planFleet, seedFleet } from './fleet-seed.js'
import { buildFleetView, PAGE_SIZE, SERVICE_OPTIONS } from '../../server/nodes/fleet.js'
import type { Snapshot } from '../../server/collector/snapshot.js'

const { server: redisServer, redis } = await useRedis(t)

const LIMIT = 400 * 1024
/** the counts grow by a digit or two at 20,000 nodes, and so do the page links */
const SLACK = 1024
// dead and stale nodes alone fill more than a page at 2,000 nodes (no alert rules here), so both
// first pages are full and the comparison is of equals
const URLS = ['/pulse', '/pulse?view=table', '/fragments/pulse/nodes', '/pulse?health=dead,stale', '/pulse?q=host', '/pulse?health=fresh&view=table']

async function pageBytes(nodes: number, services: number): Promise<Map<string, number>> {
  await redis.flushall()
  const clock = fakeClock()
  // the bytes are measured, not the shedding: a busy machine must not turn a page into a 503
  const app: FastifyInstance = await buildTestApp({ redisUrl: redisServer.url, clock, shedEventLoopDelayMs: 3_600_000 })
  try {
    await seedFleet(redis, app, clock, planFleet({ nodes, services, seed: 11, problems: 0.06 }), 11)
    t.equal(app.collector.snapshot.nodes.length, nodes, `${nodes} nodes in the snapshot`)
    const sizes = new Map<string, number>()
    for (const url of URLS) {
      const response = await app.inject(url)
      t.equal(response.statusCode, 200, url)
      sizes.set(url, Buffer.byteLength(response.body))
    }
    return sizes
  } finally {
    await app.close()
  }
}

t.test('the page is bounded: under 400 KB at 2,000 nodes and no larger at 20,000', async (t) => {
  const small = await pageBytes(2_000, 40)
  const large = await pageBytes(20_000, 40)
  for (const url of URLS) {
    const [at2k, at20k] = [small.get(url)!, large.get(url)!]
    t.ok(at2k < LIMIT, `${url}: ${at2k} bytes at 2,000 nodes, under ${LIMIT}`)
    t.ok(at20k <= at2k + SLACK, `${url}: ${at20k} bytes at 20,000 nodes, no more than ${at2k} + ${SLACK}`)
  }
})

t.test('many services: the service rows are paged and the select is capped too', async (t) => {
  // the view alone, over a snapshot of 20,000 healthy nodes in 10,000 services: no Redis needed
  const now = Date.UTC(2026, 10, 23, 12)
  const nodes = Array.from({ length: 20_000 }, (_, i) => ({ service: `svc-${i % 10_000}`, nodeId: `n-${i}`, heartbeat: { timestamp: now }, seenAt: now, lastSeenAt: now, goneAt: null, keyPresent: true }))
  const snapshot = { generatedAt: now, nodes } as unknown as Snapshot
  for (const view of ['cards', 'table'] as const) {
    const fleet = buildFleetView(snapshot, { view, page: 1 }, () => false)
    t.equal(fleet.services.length, PAGE_SIZE[view], `${view}: one page of service rows`)
    t.equal(fleet.pages, Math.ceil(10_000 / PAGE_SIZE[view]), `${view}: the rest on later pages`)
    t.equal(fleet.serviceOptions.length, SERVICE_OPTIONS)
    t.equal(fleet.moreServices, 10_000 - SERVICE_OPTIONS)
    t.same(
      fleet.services.slice(0, 3).map((row) => row.name),
      ['svc-0', 'svc-1', 'svc-2'],
      'natural order',
    )
  }
})
