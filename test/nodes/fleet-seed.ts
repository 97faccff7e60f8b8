/**
 * A seeded fleet for the /pulse fleet-view tests: many services and nodes, written in a shuffled
 * order, in every state the view sorts by (dead, stale, alerting, fresh), with hostnames that
 * repeat (many processes on one "vm") and mixed case. `expected` is what the view must list, by
 * the rules written out plainly here, not by the code under test.
 */
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { createKeys } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import type { fakeClock } from '../helpers/app.js'

const keys = createKeys()

export type State = 'dead' | 'stale' | 'alerting' | 'fresh'

export interface SeededNode {
  service: string
  nodeId: string
  hostname: string
  appVersion: string
  state: State
  cpu: number
  memory: number
}

export interface FleetSpec {
  nodes: number
  services: number
  seed: number
  /** share of nodes in each problem state */
  problems?: number
}

/** The rule alerting nodes break; load it with buildTestApp({ alertsFile }). */
export const CPU_RULE = { rules: [{ name: 'cpu-high', metric: 'cpu', above: 90, for: '2s' }] }

export function planFleet(spec: FleetSpec): SeededNode[] {
  const random = seededRandom(spec.seed)
  const problems = spec.problems ?? 0.04
  return Array.from({ length: spec.nodes }, (_, i) => {
    const roll = random()
    const state: State = roll < problems ? 'dead' : roll < 2 * problems ? 'stale' : roll < 3 * problems ? 'alerting' : 'fresh'
    // natural names: svc-2 and svc-10, node-9 and node-10, so text order and natural order differ
    const service = `svc-${1 + Math.floor(random() * spec.services)}`
    return {
      service,
      nodeId: `${i % 3 === 0 ? 'Worker' : 'web'}-${i + 1}`,
      hostname: i % 4 === 0 ? 'vm' : `host-${i + 1}.${service}.example.internal`,
      appVersion: `1.${i % 7}.${i % 3}${i % 5 === 0 ? '-RC' : ''}`,
      state,
      cpu: state === 'alerting' ? 97 : Math.round(5 + random() * 80),
      memory: Math.round(10 + random() * 85),
    }
  })
}

function beatOf(node: SeededNode, at: number) {
  const total = 8e9
  const used = (total * node.memory) / 100
  return sampleHeartbeat({
    timestamp: at,
    id: node.nodeId,
    service: node.service,
    hostname: node.hostname,
    appVersion: node.appVersion,
    cpu: { system: node.cpu, process: 3, cores: 2 },
    memory: { system: { total, used, free: total - used }, process: { rss: 1e8, heapTotal: 5e7, heapUsed: 4e7 } },
  })
}

async function write(redis: Redis, nodes: readonly SeededNode[], at: number, seed: number) {
  let pipeline = redis.pipeline()
  for (const [i, node] of shuffled(nodes, seed).entries()) {
    pipeline.set(keys.node(node.service, node.nodeId), JSON.stringify(beatOf(node, at)), 'EX', 60)
    pipeline.zadd(keys.serviceNodeIndex(node.service), at, node.nodeId)
    if (i % 2000 === 1999) {
      await pipeline.exec()
      pipeline = redis.pipeline()
    }
  }
  await pipeline.exec()
}

/**
 * Writes the fleet and drives the collector until every node is in its state, over three beats
 * 16 s apart: dead nodes beat once and lose their key (32 s silent at the end: dead however the
 * collector reads), stale nodes beat twice (16 s silent), alerting nodes hold 97 % CPU through
 * all three ticks (the rule's `for` is 2 s), the rest beat every time.
 */
export async function seedFleet(redis: Redis, app: FastifyInstance, clock: ReturnType<typeof fakeClock>, nodes: readonly SeededNode[], seed: number) {
  const dead = nodes.filter((node) => node.state === 'dead')
  for (let round = 0; round < 3; round++) {
    if (round === 1) {
      for (let i = 0; i < dead.length; i += 1000) await redis.del(...dead.slice(i, i + 1000).map((node) => keys.node(node.service, node.nodeId)))
    }
    const beating = nodes.filter((node) => round === 0 || (node.state !== 'dead' && (round === 1 || node.state !== 'stale')))
    await write(redis, beating, clock(), seed + round)
    await tickOnce(app)
    // a tick bounds what it reads; a second one before any key goes finds every node first
    if (round === 0) await tickOnce(app)
    if (round < 2) clock.advance(16_000)
  }
}

async function tickOnce(app: FastifyInstance) {
  await app.collector.refresh()
  await app.alerts.idle()
}

/** Natural order, written out independently of the code under test: digit runs as numbers. */
export function naturalKey(name: string): (string | number)[] {
  return name
    .toLowerCase()
    .split(/(\d+)/)
    .map((part, i) => (i % 2 === 1 ? Number(part) : part))
}

export function naturalOrder(a: string, b: string): number {
  const x = naturalKey(a)
  const y = naturalKey(b)
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue
    return typeof x[i] === 'number' && typeof y[i] === 'number' ? (x[i] as number) - (y[i] as number) : String(x[i]) < String(y[i]) ? -1 : 1
  }
  return x.length - y.length || (a < b ? -1 : a > b ? 1 : 0)
}

const RANK: Record<State, number> = { dead: 0, stale: 1, alerting: 2, fresh: 3 }

/** The order every listing of nodes must follow: dead, stale, alerting, fresh; then service, node, naturally. */
export function listingOrder(a: SeededNode, b: SeededNode): number {
  return RANK[a.state] - RANK[b.state] || naturalOrder(a.service, b.service) || naturalOrder(a.nodeId, b.nodeId)
}

export const idOf = (node: Pick<SeededNode, 'service' | 'nodeId'>) => `${node.service}:${node.nodeId}`

/** Node ids listed on a page or fragment, in order: cards and table rows alike carry `id="node:…"`. */
export function listedNodes(html: string): string[] {
  return [...html.matchAll(/<(?:article|tr) [^>]*id="node:([^"]+)"/g)].map((m) => m[1]!)
}

/** Service rows listed, in order. */
export function listedServices(html: string): string[] {
  return [...html.matchAll(/<tr id="service:([^"]+)"/g)].map((m) => m[1]!)
}
