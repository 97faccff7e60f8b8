/**
 * The queue overview for 20 BullMQ queues holding 10,000 jobs each: our `GET /api/pulse/queues`
 * (served from the collector's snapshot, the JSON cached per snapshot version) against bull-board's
 * `GET /api/queues` (which asks Redis for every queue's counts, pause state, concurrency, rate
 * limit, schedulers and workers on each request), on the same server process and the same Redis.
 * Load from autocannon in this process, the server in a child. Also times the console's own read
 * of those queues (a discovery tick), the Redis work it pays once per 10 s whatever the viewers.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createBadDataLog } from '../server/collector/bad-data-log.js'
import type { Snapshot } from '../server/collector/snapshot.js'
import { createQueuesCollector } from '../server/queues/collector-part.js'
import { createConsoleKeys } from '../server/redis/keys.js'
import { load, type LoadResult } from './fragments.js'
import { median, percentile, round } from './stats.js'

export interface QueuesBenchResult {
  queues: number
  jobsPerQueue: number
  fillSeconds: number
  /** one console read of every queue's counts (scan + pipelined counts), ms */
  collectorReadMedianMs: number
  collectorReadP95Ms: number
  load: (LoadResult & { idleMedianMs: number; bytes: number })[]
}

const BULK = 1_000

export async function benchQueues(url: string, queueCount: number, jobsPerQueue: number, durationSec: number, connections = 50): Promise<QueuesBenchResult> {
  const redis = new Redis(url)
  await redis.flushall()
  const names = Array.from({ length: queueCount }, (_, i) => `bench-${String(i).padStart(2, '0')}`)
  const fillStart = Date.now()
  for (const name of names) {
    const queue = new Queue(name, { connection: { url } })
    // addBulk sends one MULTI per call: 1,000 jobs per round trip keeps memory and latency bounded
    for (let start = 0; start < jobsPerQueue; start += BULK) {
      const count = Math.min(BULK, jobsPerQueue - start)
      await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: 'invoice', data: { invoice: start + i, customer: `c-${(start + i) % 97}` } })))
    }
    await queue.close()
  }
  const fillSeconds = round((Date.now() - fillStart) / 1000)

  // the console's own Redis work for these queues: one read, forced every call by moving "now" 10 s on
  const part = createQueuesCollector(redis, createConsoleKeys('gravito:quasar:'), createBadDataLog({ warn: () => {} }, Date.now))
  const empty = { nodes: [] } as unknown as Snapshot
  let now = Date.now()
  // the first walk of a keyspace this size spans several ticks (bounded SCAN steps per tick)
  for (let tick = 0; ((await part.collect(now, empty))?.items.length ?? 0) < queueCount; tick++) {
    if (tick > 1_000) throw new Error('discovery did not find every queue')
    now += 2_000
  }
  const reads: number[] = []
  for (let i = 0; i < 23; i++) {
    now += 10_000
    const start = process.hrtime.bigint()
    const items = (await part.collect(now, empty))?.items ?? []
    if (i >= 3) reads.push(Number(process.hrtime.bigint() - start) / 1e6)
    if (items.length !== queueCount || items.some((item) => item.waiting !== jobsPerQueue)) throw new Error('the collector did not read every queue')
  }
  redis.disconnect()

  const server = spawn(process.execPath, ['--import', 'tsx', new URL('./queues-server.ts', import.meta.url).pathname, url, ...names], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const [line] = (await once(createInterface({ input: server.stdout }), 'line')) as [string]
    const base = `http://127.0.0.1:${line.trim()}`
    const results: QueuesBenchResult['load'] = []
    for (const [handler, path] of [
      ['zenith `/api/pulse/queues` (snapshot, cached JSON)', '/api/pulse/queues'],
      ['bull-board `/api/queues` (Redis per request)', '/bull-board/api/queues'],
    ] as const) {
      const { idleMedianMs, bytes } = await checkAndTimeIdle(`${base}${path}`, queueCount, jobsPerQueue)
      results.push({ ...(await load(handler, `${base}${path}`, durationSec, connections)), idleMedianMs, bytes })
    }
    return { queues: queueCount, jobsPerQueue, fillSeconds, collectorReadMedianMs: round(median(reads)), collectorReadP95Ms: round(percentile(reads, 95)), load: results }
  } finally {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
}

/** Both answers must list every queue with its 10,000 waiting jobs; then 30 requests one at a time. */
async function checkAndTimeIdle(url: string, queueCount: number, jobsPerQueue: number): Promise<{ idleMedianMs: number; bytes: number }> {
  const response = await fetch(url)
  const text = await response.text()
  const body = JSON.parse(text) as { queues: { counts?: { waiting?: number }; waiting?: number }[] }
  const waiting = body.queues.map((queue) => queue.waiting ?? queue.counts?.waiting)
  if (response.status !== 200 || waiting.length !== queueCount || waiting.some((count) => count !== jobsPerQueue)) {
    throw new Error(`${url} did not answer with ${queueCount} queues of ${jobsPerQueue} waiting jobs: ${text.slice(0, 300)}`)
  }
  const times: number[] = []
  for (let i = 0; i < 30; i++) {
    const start = process.hrtime.bigint()
    await (await fetch(url)).arrayBuffer()
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return { idleMedianMs: round(median(times)), bytes: Buffer.byteLength(text) }
}
