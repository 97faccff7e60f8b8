/**
 * Renders /pulse of one source tree over the fleet already in Redis, and prints its first-page bytes
 * and render times as one JSON line. Run by bench/pulse-page.ts once for this tree and once for the
 * baseline's, each in its own process: `tsx bench/pulse-page-server.ts <redis url> <tree root> <runs> <path> <nodes>`.
 */
import { pathToFileURL } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { writeNodes } from './fixtures.js'

const [redisUrl, root, runsText, path, nodesText] = process.argv.slice(2) as [string, string, string, string, string]
const { buildTestApp } = (await import(pathToFileURL(`${root}/test/helpers/app.ts`).href)) as typeof import('../test/helpers/app.js')
const app = await buildTestApp({ redisUrl })
try {
  // the fleet beats just before it is read, once the app is up: a fleet written before a slow
  // start would be stale by then, and the page would measure problem cards instead
  const redis = new Redis(redisUrl)
  await redis.flushall()
  await writeNodes(redis, Number(nodesText), 20, Date.now())
  redis.disconnect()
  // two ticks: the first reads what an index tick allows, the second the rest
  await app.collector.refresh()
  await app.collector.refresh()
  const times: number[] = []
  let bytes = 0
  let gzipBytes = 0
  for (let run = 0; run < Number(runsText); run++) {
    // a new snapshot each run: the page is rendered, not served from the per-snapshot cache
    await app.collector.refresh()
    const started = performance.now()
    const response = await app.inject({ url: path, headers: { 'accept-encoding': 'gzip' } })
    times.push(performance.now() - started)
    gzipBytes = response.rawPayload.length
    bytes = response.headers['content-encoding'] === 'gzip' ? gunzipSync(response.rawPayload).length : response.rawPayload.length
  }
  console.log(JSON.stringify({ nodes: app.collector.snapshot.nodes.length, bytes, gzipBytes, times }))
} finally {
  await app.close()
}
