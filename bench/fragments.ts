/**
 * `/pulse` fragment throughput and p95 under 50 concurrent clients, ours (snapshot + cached render)
 * beside the naive per-request handler, on the same server process and the same Redis.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { writeNodes } from './fixtures.js'
import { percentile, round } from './stats.js'

export interface LoadResult {
  handler: string
  requestsPerSec: number
  p95Ms: number
  errors: number
  non2xx: number
}

export async function benchFragments(url: string, nodes: number, durationSec: number, connections = 50): Promise<LoadResult[]> {
  const redis = new Redis(url)
  await redis.flushall()
  await writeNodes(redis, nodes, 20, Date.now())
  redis.disconnect()

  const server = spawn(process.execPath, ['--import', 'tsx', new URL('./fragment-server.ts', import.meta.url).pathname, url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const [line] = (await once(createInterface({ input: server.stdout }), 'line')) as [string]
    const base = `http://127.0.0.1:${line.trim()}`
    const results: LoadResult[] = []
    for (const [handler, path] of [
      ['zenith (snapshot, cached fragment)', '/fragments/pulse/nodes'],
      ['naive (SCAN + MGET + render per request)', '/naive/fragments/pulse/nodes'],
    ] as const) {
      results.push(await load(handler, `${base}${path}`, durationSec, connections))
    }
    return results
  } finally {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
}

/** What a browser's poll sends; the naive handler ignores it and answers uncompressed. */
const BROWSER_HEADERS = { 'accept-encoding': 'gzip, deflate, br' }

export async function load(handler: string, url: string, durationSec: number, connections: number): Promise<LoadResult> {
  // a short warm-up so JIT and caches are in the same state for both handlers
  await autocannon({ url, connections: 5, duration: 1, headers: BROWSER_HEADERS })
  const latencies: number[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: durationSec, headers: BROWSER_HEADERS }, (error, done) => (error ? reject(error) : resolve(done)))
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime))
  })
  return {
    handler,
    requestsPerSec: round(result.requests.average, 0),
    p95Ms: round(percentile(latencies, 95)),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }
}
