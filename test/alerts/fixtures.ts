/** Shared set-up for the alerts' app tests: heartbeats with a chosen CPU, and rules files. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

export async function writeBeat(redis: Redis, at: number, cpu: number, service = 'billing', nodeId = 'web-1'): Promise<void> {
  const beat = sampleHeartbeat({ timestamp: at, id: nodeId, service, cpu: { system: cpu, process: 5, cores: 2 } })
  await redis.set(`gravito:quasar:node:${service}:${nodeId}`, JSON.stringify(beat), 'EX', 30)
  await redis.zadd('gravito:quasar:index:nodes', at, `${service}:${nodeId}`)
}

export interface BeatSpec {
  service: string
  nodeId: string
  cpu?: number
  /** system memory used, percent */
  memory?: number
}

/** Many heartbeats at `at` in one round trip; CPU 20 % and memory 50 % unless given. */
export async function writeBeats(redis: Redis, at: number, nodes: readonly BeatSpec[]): Promise<void> {
  const pipeline = redis.pipeline()
  for (const { service, nodeId, cpu = 20, memory = 50 } of nodes) {
    const total = 8e9
    const beat = sampleHeartbeat({
      timestamp: at,
      id: nodeId,
      service,
      cpu: { system: cpu, process: 5, cores: 2 },
      memory: { system: { total, used: (total * memory) / 100, free: total - (total * memory) / 100 }, process: { rss: 1e8, heapTotal: 5e7, heapUsed: 4e7 } },
    })
    pipeline.set(`gravito:quasar:node:${service}:${nodeId}`, JSON.stringify(beat), 'EX', 30)
    pipeline.zadd('gravito:quasar:index:nodes', at, `${service}:${nodeId}`)
  }
  await pipeline.exec()
}

/** The nodes' heartbeat keys disappear, as when their processes die (or Redis loses them). */
export async function dropBeats(redis: Redis, nodes: readonly Pick<BeatSpec, 'service' | 'nodeId'>[]): Promise<void> {
  if (nodes.length > 0) await redis.del(...nodes.map(({ service, nodeId }) => `gravito:quasar:node:${service}:${nodeId}`))
}

export function rulesDir() {
  const dir = mkdtempSync(join(tmpdir(), 'zenith-alerts-'))
  return {
    write(name: string, content: object): string {
      const path = join(dir, name)
      writeFileSync(path, JSON.stringify(content, null, 2))
      return path
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** One collector tick, then wait for the alert writes and deliveries it started. */
export async function tick(app: FastifyInstance): Promise<void> {
  await app.collector.refresh()
  await app.alerts.idle()
}

export async function alertsApi(app: FastifyInstance) {
  const response = await app.inject({ url: '/api/pulse/alerts' })
  return response.json() as { generatedAt: number; firing: Record<string, any>[]; history: Record<string, any>[] }
}
