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
