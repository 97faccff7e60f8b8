/**
 * What a request waits for while the console reads a large fleet: the longest event-loop block
 * during a collector tick over 20,000 nodes (heartbeat parsing, history writes, alert evaluation,
 * the queues part), and the slowest `/livez` answered meanwhile over HTTP. Two consoles on the
 * same Redis in the same run: ours, whose fleet-wide loops hand the loop back every
 * `loopSliceMs`, and the same console with that slice set to an hour, i.e. never handing it back.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../test/helpers/app.js'
import { writeNodes } from './fixtures.js'
import { median, round } from './stats.js'

export interface ResponsivenessRow {
  console: string
  phase: 'first tick' | 'later ticks'
  tickMs: number
  longestBlockMs: number
  slowestLivezMs: number
}

const NEVER_MS = 3_600_000

export async function benchResponsiveness(url: string, nodes: number, laterTicks = 5): Promise<ResponsivenessRow[]> {
  const redis = new Redis(url)
  const rows: ResponsivenessRow[] = []
  try {
    for (const [label, loopSliceMs] of [
      ['sliced (20 ms)', 20],
      ['never yields', NEVER_MS],
    ] as const) {
      await redis.flushall()
      await writeNodes(redis, nodes, 40, Date.now())
      const app = await buildTestApp({ redisUrl: url, loopSliceMs, selfMonitor: false })
      try {
        await app.listen({ host: '127.0.0.1', port: 0 })
        const first = await measureTick(app)
        rows.push({ console: label, phase: 'first tick', ...first })
        const later = []
        for (let i = 0; i < laterTicks; i++) {
          // a fifth of the fleet beats between two ticks, as with beats every 10 s and ticks every 2 s
          await writeNodes(redis, nodes, 40, Date.now(), (n) => n % 5 === i % 5)
          later.push(await measureTick(app))
        }
        rows.push({
          console: label,
          phase: 'later ticks',
          tickMs: round(median(later.map((m) => m.tickMs))),
          longestBlockMs: round(median(later.map((m) => m.longestBlockMs))),
          slowestLivezMs: round(median(later.map((m) => m.slowestLivezMs))),
        })
      } finally {
        await app.close()
      }
    }
  } finally {
    redis.disconnect()
  }
  return rows
}

/** One tick, with a /livez client polling over HTTP while it runs. */
async function measureTick(app: FastifyInstance) {
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  let polling = true
  let slowest = 0
  const poller = (async () => {
    while (polling) {
      const started = performance.now()
      await (await fetch(`${base}/livez`)).arrayBuffer()
      slowest = Math.max(slowest, performance.now() - started)
    }
  })()
  histogram.enable()
  const started = performance.now()
  await app.collector.refresh()
  const tickMs = performance.now() - started
  histogram.disable()
  polling = false
  await poller
  return { tickMs: round(tickMs), longestBlockMs: round(histogram.max / 1e6), slowestLivezMs: round(slowest) }
}
