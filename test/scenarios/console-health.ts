/**
 * What "the console does not lie" means on every tick of a scenario: ready, Redis reported up,
 * and no collector part failing. Also the console's share of Redis traffic, for the bound on what
 * one tick reads.
 */
import type { Test } from 'tap'
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'

/** Returns whether every check passed. */
export async function expectHealthyTick(t: Test, app: FastifyInstance, label: string): Promise<boolean> {
  const ready = await app.inject('/readyz')
  const failing = Object.entries(app.collector.snapshot.parts)
    .filter(([, part]) => !part.ok)
    .map(([key, part]) => `${key} (${part.reason ?? 'never read'})`)
  return [
    t.same({ code: ready.statusCode, body: ready.json() }, { code: 200, body: { status: 'ready' } }, `${label}: ready, nothing degraded`),
    t.equal(app.collector.snapshot.redis.up, true, `${label}: Redis reported up`),
    t.same(failing, [], `${label}: every collector part read its data`),
  ].every(Boolean)
}

/** Bytes Redis has sent to all its clients so far (INFO stats). */
export async function bytesSent(redis: Redis): Promise<number> {
  const info = await redis.info('stats')
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? Number.NaN)
}

/** The console's log lines at warn level or above (pino levels: 40 warn, 50 error). */
export function warnings(logLines: readonly string[]): { msg: string; key?: string; level: number }[] {
  return logLines.map((line) => JSON.parse(line) as { msg: string; key?: string; level: number }).filter((line) => line.level >= 40)
}
