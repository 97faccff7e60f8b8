/**
 * A Prometheus scrape of `/metrics` beside a client polling `/api/pulse/nodes`, on the same console
 * over the same fleet (10,000 nodes in 20 services, 200 queues reported by agents), over HTTP on
 * loopback. Both are built from the snapshot and send no Redis command; what differs is how much
 * each says: per-service counts against every node's heartbeat. Each run is one collector tick,
 * then the first request of each endpoint after it (nothing cached yet for that snapshot), then
 * repeated requests (the API answer is cached per snapshot; a scrape renders its text each time,
 * from samples built once per snapshot). The two endpoints alternate which goes first.
 */
import { request } from 'node:http'
import { loadavg } from 'node:os'
import { gunzipSync } from 'node:zlib'
import { Redis } from 'ioredis'
import { buildTestApp } from '../test/helpers/app.js'
import { writeNodes } from './fixtures.js'
import { percentile, round } from './stats.js'

export interface MetricsBenchRow {
  endpoint: string
  bytes: number
  gzipBytes: number
  firstP50Ms: number
  firstP95Ms: number
  repeatP50Ms: number
  repeatP95Ms: number
}

export interface MetricsBenchResult {
  nodes: number
  queues: number
  runs: number
  repeats: number
  rows: MetricsBenchRow[]
  /** the machine's 1-minute load average at the end of the run */
  loadAverage: number
}

const ENDPOINTS = ['/metrics', '/api/pulse/nodes'] as const
const SERVICES = 20
const QUEUES_PER_SERVICE = 10

export async function benchMetrics(url: string, nodes: number, runs: number, repeats = 5): Promise<MetricsBenchResult> {
  const redis = new Redis(url)
  // load shedding off: on a busy machine a tick over 10,000 nodes can delay the loop past its
  // threshold, and a 503 would measure the machine, not the two endpoints
  const app = await buildTestApp({ redisUrl: url, selfMonitor: false, shedEventLoopDelayMs: 3_600_000 })
  try {
    await redis.flushall()
    await writeNodes(redis, nodes, SERVICES, Date.now())
    await writeQueueSnapshots(redis)
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    const snapshot = await app.collector.refresh()
    if (snapshot.nodes.length !== nodes) throw new Error(`the console read ${snapshot.nodes.length} of ${nodes} nodes`)

    const first = new Map<string, number[]>(ENDPOINTS.map((path) => [path, []]))
    const repeat = new Map<string, number[]>(ENDPOINTS.map((path) => [path, []]))
    const sizes = new Map<string, { bytes: number; gzipBytes: number }>()
    for (let run = -1; run < runs; run++) {
      await app.collector.refresh()
      const order = run % 2 === 0 ? ENDPOINTS : [...ENDPOINTS].reverse()
      for (const path of order) {
        const answer = await get(base + path)
        // run -1 warms up both endpoints' code paths and is not counted
        if (run >= 0) first.get(path)!.push(answer.ms)
        sizes.set(path, { bytes: answer.bytes, gzipBytes: answer.gzipBytes })
      }
      for (let i = 0; i < repeats; i++) {
        for (const path of order) {
          const answer = await get(base + path)
          if (run >= 0) repeat.get(path)!.push(answer.ms)
        }
      }
    }
    const rows = ENDPOINTS.map((path) => ({
      endpoint: path,
      ...sizes.get(path)!,
      firstP50Ms: round(percentile(first.get(path)!, 50), 2),
      firstP95Ms: round(percentile(first.get(path)!, 95), 2),
      repeatP50Ms: round(percentile(repeat.get(path)!, 50), 2),
      repeatP95Ms: round(percentile(repeat.get(path)!, 95), 2),
    }))
    return { nodes, queues: SERVICES * QUEUES_PER_SERVICE, runs, repeats, rows, loadAverage: round(loadavg()[0]!, 1) }
  } finally {
    await app.close()
    redis.disconnect()
  }
}

/** queue snapshots as agents write them, one per service */
async function writeQueueSnapshots(redis: Redis): Promise<void> {
  const pipeline = redis.pipeline()
  for (let s = 0; s < SERVICES; s++) {
    const service = `service-${s}`
    const queues = Array.from({ length: QUEUES_PER_SERVICE }, (_, q) => ({
      name: `queue-${q}`,
      driver: 'bullmq',
      metrics: { waiting: (s * 31 + q * 7) % 500, active: q % 4, delayed: q % 3, failed: (s + q) % 11, completed: 1_000 + q },
      oldestWaitingMs: 1_000 * ((s + q) % 60),
    }))
    pipeline.set(`gravito:quasar:queues:${service}`, JSON.stringify({ timestamp: Date.now(), service, queues }))
  }
  await pipeline.exec()
}

/** one GET with `Accept-Encoding: gzip`, as Prometheus and browsers send it: time to the last byte, and sizes */
function get(url: string): Promise<{ ms: number; bytes: number; gzipBytes: number }> {
  const start = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6
        if (response.statusCode !== 200) return reject(new Error(`${url} answered ${response.statusCode}`))
        const wire = Buffer.concat(chunks)
        const gzipped = response.headers['content-encoding'] === 'gzip'
        resolve({ ms, bytes: gzipped ? gunzipSync(wire).length : wire.length, gzipBytes: gzipped ? wire.length : Number.NaN })
      })
      response.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
