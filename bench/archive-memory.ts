/**
 * Console memory with the job archive on, ingesting a steady stream of finished-job records,
 * against the same console with `--archive off` under the same load. The console runs as its bin
 * in a child process (RSS from /proc, as memory.ts reads it); this process writes RATE records a
 * second over SERVICES services with `jobRecordFields` (about 600 bytes each, job data included)
 * and a fleet of NODES beating nodes, so the collector runs as usual beside the archiver.
 * At the end the console's own /api/archive says what it stored and what still waits.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { ARCHIVE_STREAM_MAXLEN, createKeys, jobRecordFields, type JobRecord } from '@gravito/quasar/protocol'
import { writeNodes } from './fixtures.js'
import { consoleUrl, cpuMs, rssBytes } from './memory.js'
import { median, percentile, round } from './stats.js'

const SERVICES = 20
const NODES = 200
const WRITE_EVERY_MS = 100
const REPO_ROOT = new URL('..', import.meta.url).pathname

export interface ArchiveMemoryOptions {
  /** records written per second, every service together */
  rate: number
  warmupMs: number
  sampleMs: number
}

export interface ArchiveMemoryRow {
  archive: string
  recordsPerSecond: number
  medianRssMb: number
  p95RssMb: number
  maxRssMb: number
  cpuPercent: number
  /** records the console stored while it ran (its /api/archive) */
  stored: number
  /** records written and not yet stored when the window ended */
  backlog: number
}

function record(i: number): JobRecord {
  const now = Date.now()
  return {
    queue: `queue-${i % 5}`,
    jobId: String(i),
    name: `job-${i % 13}`,
    state: i % 10 === 0 ? 'failed' : 'completed',
    attempt: 1,
    addedAt: now - 40,
    startedAt: now - 30,
    finishedAt: now,
    durationMs: 30,
    waitMs: 10,
    ...(i % 10 === 0 ? { failedReason: 'Connection refused (ECONNREFUSED)', stack: 'Error: Connection refused\n    at connect (net.js:1:1)\n    at work (job.js:10:5)' } : {}),
    data: JSON.stringify({
      orderId: i,
      customer: { id: i % 977, email: `c${i % 977}@example.com` },
      items: [
        { sku: 'A-1', qty: 2 },
        { sku: 'B-7', qty: 1 },
      ],
      note: 'x'.repeat(200),
    }),
    appVersion: '1.4.2',
    nodeId: `node-${i % NODES}`,
  }
}

export async function benchArchiveMemory(redisUrl: string, options: ArchiveMemoryOptions): Promise<ArchiveMemoryRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'zenith-archive-bench-'))
  try {
    return [await measure('off', redisUrl, options), await measure(`sqlite:${join(dir, 'archive.sqlite')}`, redisUrl, options)]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function measure(archive: string, redisUrl: string, options: ArchiveMemoryOptions): Promise<ArchiveMemoryRow> {
  const redis = new Redis(redisUrl)
  await redis.flushall()
  await writeNodes(redis, NODES, SERVICES, Date.now())
  const keys = createKeys()
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/server/cli.js'), 'start', '--url', redisUrl, '--port', '0', '--no-self-monitor', '--archive', archive], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const base = await consoleUrl(child)
    let running = true
    let written = 0
    const writer = (async () => {
      const perWrite = Math.max(1, Math.round((options.rate * WRITE_EVERY_MS) / 1000))
      for (let round = 0; running; round++) {
        const started = Date.now()
        const pipeline = redis.pipeline()
        for (let k = 0; k < perWrite; k++, written++) pipeline.xadd(keys.archive(`service-${written % SERVICES}`), 'MAXLEN', '~', String(ARCHIVE_STREAM_MAXLEN), '*', ...jobRecordFields(record(written)))
        // beats every 10 s keep the fleet alive, as the memory bench's do
        if (round % 100 === 0) await writeNodes(redis, NODES, SERVICES, started)
        await pipeline.exec()
        await sleep(Math.max(0, WRITE_EVERY_MS - (Date.now() - started)))
      }
    })()
    writer.catch(() => (running = false))
    await sleep(options.warmupMs)
    const rss: number[] = []
    const cpuAtStart = cpuMs(child.pid!)
    const startedAt = Date.now()
    while (running && Date.now() - startedAt < options.sampleMs) {
      rss.push(rssBytes(child.pid!))
      await sleep(1_000)
    }
    const cpuPercent = ((cpuMs(child.pid!) - cpuAtStart) / (Date.now() - startedAt)) * 100
    running = false
    await writer
    const status = (await (await fetch(`${base}/api/archive`)).json()) as { ingest: { ingested: number } | null }
    const stored = status.ingest?.ingested ?? 0
    const mb = (bytes: number) => round(bytes / 2 ** 20)
    return {
      archive: archive === 'off' ? 'off' : 'sqlite',
      recordsPerSecond: options.rate,
      medianRssMb: mb(median(rss)),
      p95RssMb: mb(percentile(rss, 95)),
      maxRssMb: mb(Math.max(...rss)),
      cpuPercent: round(cpuPercent),
      stored,
      backlog: archive === 'off' ? 0 : Math.max(0, written - stored),
    }
  } finally {
    if (child.exitCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
    redis.disconnect()
  }
}

export function renderArchiveMemory(rows: ArchiveMemoryRow[], options: ArchiveMemoryOptions): string {
  const header = ['archive', 'records/s written', 'median RSS (MB)', 'p95 RSS (MB)', 'max RSS (MB)', 'CPU (% of a core)', 'stored', 'backlog at the end']
  return [
    `## Console memory with the job archive ingesting ${options.rate.toLocaleString('en-US')} records/s`,
    '',
    `The console as its bin runs it (\`node dist/server/cli.js start --no-self-monitor --archive …\`) in a child process; RSS from \`/proc/<pid>/status\` every second for ${Math.round(options.sampleMs / 1000)} s after ${Math.round(options.warmupMs / 1000)} s of warm-up. The bench writes ${options.rate.toLocaleString('en-US')} finished-job records a second (about 600 bytes each with their job data; one in ten failed, with a stack) over ${SERVICES} services' archive streams, plus ${NODES} nodes beating, first to a console with \`--archive off\`, then to one with the default SQLite archive in a fresh file. "Stored" is what the console's \`/api/archive\` says it stored over the whole run, "backlog" what was written and not yet stored when the window ended.`,
    '',
    [
      `| ${header.join(' | ')} |`,
      `| ${header.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${[r.archive, r.recordsPerSecond, r.medianRssMb, r.p95RssMb, r.maxRssMb, r.cpuPercent, r.stored, r.backlog].join(' | ')} |`),
    ].join('\n'),
  ].join('\n')
}
