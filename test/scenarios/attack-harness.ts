/**
 * One console on a fake clock, well-behaved services changing on every tick (./steady-fleet.ts),
 * an SDK agent beating once per tick, a BullMQ queue found with no agent, and the hostile agent
 * (./agents/hostile.ts). `runTicks` advances the clock tick by tick and checks on every tick what
 * must hold whatever the hostile agent does: the console ready with no part failing and Redis up,
 * every other service showing this tick's data, the discovered queue counted as BullMQ counts it,
 * and the bytes Redis sent since the previous tick under a bound.
 */
import type { Test } from 'tap'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { startPulse, type QuasarAgent } from '@gravito/quasar'
import { buildTestApp, fakeClock, type TestAppOptions } from '../helpers/app.js'
import type { TestRedis } from '../helpers/redis-server.js'
import { buildBullmqFleet, expectedCounts, STATES, type QueueSpec } from './bullmq-fleet.js'
import { bytesSent, expectHealthyTick, warnings } from './console-health.js'
import { expectSteadyTick, writeSteadyTick } from './steady-fleet.js'
import { startHostileAgent, type HostileAgent } from './agents/hostile.js'
import type { Queue } from 'bullmq'

export const TICK_MS = 2_000
export const GRACE_MS = 60_000
/**
 * What the console may read from Redis in one tick here. The honest fleet costs a few kilobytes and
 * a SCAN step over 30,000 bad keys about 1.5 MB; a tick of the first slice read up to 200 MB of
 * slow entries, or 10 MB of index members and the keys they named.
 */
export const MAX_BYTES_PER_TICK = 4 * 1024 * 1024
/** warn lines a whole scenario may log: 30,000 bad keys once logged over 40,000 in a few ticks */
export const MAX_WARNINGS = 200

export interface Scenario {
  app: FastifyInstance
  clock: ReturnType<typeof fakeClock>
  hostile: HostileAgent
  admin: Redis
  logLines: string[]
  /** search/idx-sdk: beats (with its index entry) right before each tick */
  sdk: QuasarAgent
  tick: number
  bytesPerTick: number[]
  lastBytes: number
  reports: Queue
}

export async function startScenario(t: Test, redisServer: TestRedis, options: Partial<TestAppOptions> = {}): Promise<Scenario> {
  const admin = new Redis(redisServer.url)
  t.teardown(() => admin.quit())
  await admin.flushall()
  const hostile = await startHostileAgent(admin, redisServer.url)
  t.teardown(() => hostile.close())
  const none = Object.fromEntries(STATES.map((state) => [state, 0])) as QueueSpec['jobs']
  const spec: QueueSpec = { prefix: 'bull', name: 'reports', jobs: { ...none, waiting: 3, delayed: 1, failed: 1 }, childrenPerParent: 1, paused: false, order: [...STATES] }
  const fleet = await buildBullmqFleet(redisServer.url, [spec], 3)
  t.teardown(() => fleet.close())
  const sdk = startPulse({ service: 'search', nodeId: 'idx-sdk', url: redisServer.url, intervalMs: 3_600_000, commands: false })
  t.teardown(() => sdk.stop())
  const clock = fakeClock(Date.now())
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines, graceMs: GRACE_MS, ...options })
  t.teardown(() => app.close())
  await hostile.beat(clock())
  const scenario: Scenario = { app, clock, hostile, admin, logLines, sdk, tick: 0, bytesPerTick: [], lastBytes: 0, reports: fleet.queues.get(spec)! }
  scenario.lastBytes = await bytesSent(admin)
  await runTicks(t, scenario, 1, 'before the attack')
  return scenario
}

/**
 * `count` ticks with every check. After two failing ticks it stops: the first failures say what
 * broke, and a console that reads 200 MB per tick would otherwise keep the test running for minutes.
 */
export async function runTicks(t: Test, s: Scenario, count: number, label: string): Promise<boolean> {
  let failing = 0
  for (let i = 0; i < count; i++) {
    s.clock.advance(TICK_MS)
    const tick = ++s.tick
    const now = s.clock()
    await writeSteadyTick(s.admin, tick, now)
    await s.hostile.beat(now)
    await s.sdk.beat()
    const sdkBeat = JSON.parse((await s.admin.get('gravito:quasar:node:search:idx-sdk')) ?? '{}') as { timestamp?: number }
    await s.app.collector.refresh()
    const sent = await bytesSent(s.admin)
    const read = sent - s.lastBytes
    s.lastBytes = sent
    s.bytesPerTick.push(read)
    const name = `${label}, tick ${tick}`
    const checks = [
      await expectHealthyTick(t, s.app, name),
      await expectSteadyTick(t, s.app, tick, now),
      t.equal(await sdkTimestamp(s.app), sdkBeat.timestamp, `${name}: search/idx-sdk (SDK, indexed) shows the beat it just wrote`),
      t.same(await discoveredCounts(s.app), await expectedCounts(s.reports), `${name}: bull/reports counted as BullMQ counts it`),
      t.ok(read <= MAX_BYTES_PER_TICK, `${name}: Redis sent ${read.toLocaleString('en-US')} bytes since the last tick (at most ${MAX_BYTES_PER_TICK.toLocaleString('en-US')})`),
    ]
    if (!checks.every(Boolean) && ++failing >= 2) return false
  }
  return failing === 0
}

/**
 * Ticks (with every check) until `done` holds, at most `max`: what an agent writes after the
 * console's last SCAN pass shows up once the next pass (every 10 s) finds it.
 */
export async function ticksUntil(t: Test, s: Scenario, label: string, max: number, done: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < max; i++) {
    if (!(await runTicks(t, s, 1, label))) return false
    if (await done()) return true
  }
  return false
}

async function sdkTimestamp(app: FastifyInstance): Promise<number | undefined> {
  const services = ((await app.inject('/api/pulse/nodes?service=search')).json().services ?? []) as { nodes: { id: string; timestamp?: number }[] }[]
  return services.flatMap((s) => s.nodes).find((n) => n.id === 'idx-sdk')?.timestamp
}

async function discoveredCounts(app: FastifyInstance): Promise<Record<string, unknown> | undefined> {
  const queue = (((await app.inject('/api/pulse/queues?service=bull')).json().queues ?? []) as Record<string, unknown>[]).find((q) => q.name === 'reports')
  return queue && Object.fromEntries(['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'].map((field) => [field, queue[field]]))
}

/** The hostile service's nodes as the API lists them. */
export async function hostileNodes(app: FastifyInstance): Promise<Record<string, any>[]> {
  const services = ((await app.inject('/api/pulse/nodes?service=hostile')).json().services ?? []) as { nodes: Record<string, any>[] }[]
  return services.flatMap((s) => s.nodes)
}

/** Log volume stays bounded, and every bad key it names is the hostile agent's own. */
export function expectBoundedLog(t: Test, s: Scenario): void {
  const lines = warnings(s.logLines)
  t.ok(lines.length <= MAX_WARNINGS, `${lines.length} warn lines logged (at most ${MAX_WARNINGS})`)
  const keyed = lines.filter((line) => typeof line.key === 'string')
  t.ok(keyed.length > 0, 'the damage is reported in the log')
  t.same(
    keyed.filter((line) => !line.key!.includes('hostile')).map((line) => line.key),
    [],
    "every bad key logged is the hostile agent's",
  )
}
