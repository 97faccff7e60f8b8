/**
 * Well-behaved services whose data changes on every tick, written by the test on the console's
 * (fake) clock, so that "still updating" can be checked exactly: after tick n, each node shows the
 * beat of tick n, the queue snapshot its count n, and the slow stream its entry n. They write only
 * the heartbeat key (found by the console's SCAN safety net, which needs no index), the queue
 * snapshot and the slow stream, all as PROTOCOL.md describes.
 */
import type { Test } from 'tap'
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const PREFIX = 'gravito:quasar:'

export const STEADY_NODES = [
  { service: 'billing', nodeId: 'web-1' },
  { service: 'billing', nodeId: 'web-2' },
  { service: 'search', nodeId: 'idx-1' },
] as const

/** a CPU figure that differs from one tick to the next */
const cpuAt = (tick: number) => 10 + (tick % 50)

export async function writeSteadyTick(redis: Redis, tick: number, now: number): Promise<void> {
  const pipeline = redis.pipeline()
  for (const { service, nodeId } of STEADY_NODES) {
    const beat = sampleHeartbeat({ timestamp: now, id: nodeId, service, cpu: { system: cpuAt(tick), process: 5, cores: 2 } })
    pipeline.set(`${PREFIX}node:${service}:${nodeId}`, JSON.stringify(beat), 'EX', 30)
    pipeline.xadd(`${PREFIX}slow:${service}`, 'MAXLEN', '~', '1000', '*', 'kind', 'request', 'name', `GET /tick/${tick}/${nodeId}`, 'durationMs', '1500', 'timestamp', String(now), 'nodeId', nodeId)
  }
  const snapshot = { timestamp: now, service: 'billing', nodeId: 'web-1', queues: [{ name: 'emails', driver: 'other', metrics: { waiting: tick, active: 1 } }] }
  pipeline.set(`${PREFIX}queues:billing`, JSON.stringify(snapshot), 'EX', 30)
  const replies = (await pipeline.exec()) ?? []
  const failed = replies.find(([error]) => error)
  if (failed) throw failed[0]
}

/** Checks, through the console's API, that every steady service shows tick `tick`; true if all did. */
export async function expectSteadyTick(t: Test, app: FastifyInstance, tick: number, now: number): Promise<boolean> {
  const results: boolean[] = []
  // a console too busy to answer gives no services: every check below then fails on its own
  const services = ((await app.inject('/api/pulse/nodes')).json().services ?? []) as { name: string; nodes: { id: string; timestamp?: number; cpu?: { system: number } }[] }[]
  for (const { service, nodeId } of STEADY_NODES) {
    const node = services.find((s) => s.name === service)?.nodes.find((n) => n.id === nodeId)
    results.push(t.same(node && { timestamp: node.timestamp, cpu: node.cpu?.system }, { timestamp: now, cpu: cpuAt(tick) }, `tick ${tick}: ${service}/${nodeId} shows this tick's beat`))
  }
  const queues = ((await app.inject('/api/pulse/queues?service=billing')).json().queues ?? []) as { name: string; waiting: number | null }[]
  results.push(t.equal(queues.find((q) => q.name === 'emails')?.waiting, tick, `tick ${tick}: billing/emails shows this tick's count`))
  for (const service of ['billing', 'search']) {
    const entries = ((await app.inject(`/api/pulse/slow?service=${service}`)).json().entries ?? []) as { name: string }[]
    const names = new Set(entries.map((e) => e.name))
    const expected = STEADY_NODES.filter((n) => n.service === service).map((n) => `GET /tick/${tick}/${n.nodeId}`)
    results.push(
      t.ok(
        expected.every((name) => names.has(name)),
        `tick ${tick}: ${service}'s slow entries of this tick are shown`,
      ),
    )
  }
  return results.every(Boolean)
}
