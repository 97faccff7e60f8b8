// Takes docs/screenshot.png: the built console (dist/, so `npm run build` first) against a
// redis-server of its own on a free loopback port, with a small fleet that looks like a real one
// (four services, one node silent for a while, one hot enough to alert, a BullMQ queue with failed
// jobs watched by the SDK, slow requests), photographed by Debian's chromium at 1440 px.
//   npm run screenshot            (about 40 seconds; needs redis-server and /usr/bin/chromium)
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setInterval, clearInterval } from 'node:timers'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { Queue, Worker } from 'bullmq'
import { chromium } from 'playwright-core'
import { startPulse } from '@gravito/quasar'
import { createKeys } from '@gravito/quasar/protocol'

const root = fileURLToPath(new URL('..', import.meta.url))
const output = join(root, 'docs/screenshot.png')
const TOKEN = 'screenshot-quasar-token-0123456789'
const GIB = 1024 ** 3
const keys = createKeys()

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function until(check, what, deadlineMs = 30_000) {
  for (const end = Date.now() + deadlineMs; Date.now() < end; await sleep(200)) if (await check().catch(() => false)) return
  throw new Error(`timed out waiting for ${what}`)
}

/** A heartbeat with values that differ per node, as a real fleet's do. */
function beat(service, id, i, fields) {
  return {
    id,
    service,
    pid: 4000 + i * 17,
    platform: 'linux',
    timestamp: Date.now(),
    cpu: { system: 14 + ((i * 23) % 58), process: 3 + ((i * 7) % 12), cores: 4 },
    memory: { system: { total: 16 * GIB, free: (4 + (i % 6)) * GIB, used: (12 - (i % 6)) * GIB }, process: { rss: (160 + i * 70) * 1024 ** 2, heapTotal: 120e6, heapUsed: 85e6 } },
    disk: { path: '/', total: 200 * GIB, free: (48 + i * 13) * GIB },
    eventLoop: { lagMs: 0.4 + (i % 5) * 0.6, p99Ms: 5 + (i % 5) * 4 },
    runtime: { uptime: 3600 * (5 + i * 11) },
    protocol: 1,
    ...fields,
  }
}

const node = { language: 'node', version: '22.12.0', appVersion: '3.8.1' }
const FLEET = [
  ...[1, 2, 3].map((i) => beat('api', `api-${i}`, i, { ...node, hostname: `ip-10-0-1-${20 + i}`, runtime: { uptime: 86_400 * 6 + i * 3600, framework: 'fastify' } })),
  beat('billing', 'billing-1', 4, { language: 'php', version: '8.3.14', appVersion: '2026.11.2', hostname: 'billing-7d9f-x2k', runtime: { uptime: 86_400 + 3600 * 4, framework: 'laravel' } }),
  beat('billing', 'billing-2', 5, { language: 'php', version: '8.3.14', appVersion: '2026.11.2', hostname: 'billing-7d9f-q8m', runtime: { uptime: 9000, framework: 'laravel' } }),
  beat('edge', 'edge-1', 6, { language: 'go', version: 'go1.23.4', appVersion: 'v0.19.3', hostname: 'edge-fra-1' }),
  beat('edge', 'edge-2', 7, { language: 'go', version: 'go1.23.4', appVersion: 'v0.19.3', hostname: 'edge-ams-1', cpu: { system: 96.5, process: 71.2, cores: 2 } }),
]
const SILENT = 'billing-2'

const work = mkdtempSync(join(tmpdir(), 'zenith-screenshot-'))
const children = []
const closers = []
try {
  const redisPort = await freePort()
  const url = `redis://127.0.0.1:${redisPort}`
  children.push(spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', work, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }))
  const redis = new Redis(url, { retryStrategy: () => 100 })
  redis.on('error', () => {})
  await until(async () => (await redis.ping()) === 'PONG', 'redis-server')
  closers.push(() => redis.quit())

  const rules = join(work, 'alerts.json')
  writeFileSync(
    rules,
    JSON.stringify({
      rules: [
        { name: 'cpu-high', metric: 'cpu', above: 90, for: '0s' },
        { name: 'node-lost', metric: 'node_lost' },
      ],
    }),
  )
  const consolePort = await freePort()
  children.push(
    spawn(process.execPath, ['dist/server/cli.js', 'start', '--url', url, '--port', String(consolePort), '--quasar-token', TOKEN, '--alerts', rules, '--log-level', 'error', '--no-self-monitor'], {
      cwd: root,
      stdio: 'inherit',
    }),
  )
  const base = `http://127.0.0.1:${consolePort}`

  // a BullMQ queue with failed jobs, watched by a real agent on a worker node
  const connection = { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null }
  const queue = new Queue('emails', { connection })
  closers.push(() => queue.close())
  await queue.addBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'send-receipt', data: { order: 1000 + i }, opts: { attempts: 1, removeOnFail: false } })))
  const failer = new Worker('emails', async (job) => (job.data.order % 8 === 0 ? Promise.reject(new Error('SMTP 421: try again later')) : undefined), { connection })
  await until(async () => (await queue.getFailedCount()) + (await queue.getCompletedCount()) === 40, 'the jobs to run')
  await failer.close()
  await queue.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'send-receipt', data: { order: 2000 + i } })))
  const agent = startPulse({ service: 'worker', nodeId: 'worker-1', url, token: TOKEN, intervalMs: 1000, appVersion: '3.8.1', onError: () => {} })
  closers.push(() => agent.stop())
  agent.monitorQueue('emails', 'bullmq')
  for (const [name, ms, status] of [
    ['GET /reports/:id/export', 2410, 200],
    ['POST /checkout', 1320, 502],
    ['GET /users/:id', 1105, 200],
  ])
    agent.recordSlow({ kind: 'request', name, durationMs: ms, method: name.split(' ')[0], status })

  // the rest of the fleet beats every second; one node falls silent after its first beat
  let first = true
  const write = async () => {
    const pipeline = redis.pipeline()
    for (const payload of FLEET) {
      if (payload.id === SILENT && !first) continue
      pipeline.set(keys.node(payload.service, payload.id), JSON.stringify({ ...payload, timestamp: Date.now() }), 'EX', 30)
      pipeline.zadd(keys.serviceNodeIndex(payload.service), Date.now(), payload.id)
    }
    await pipeline.exec()
    first = false
  }
  await write()
  const beating = setInterval(() => void write().catch(() => {}), 1000)
  closers.push(() => clearInterval(beating))

  await until(async () => (await globalThis.fetch(`${base}/readyz`)).ok, 'the console')
  // the silent node turns stale after 15 s without a beat; the history charts get a few points meanwhile
  await sleep(17_000)

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
  closers.push(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  await page.emulateMedia({ colorScheme: 'light' })
  await page.goto(`${base}/pulse`)
  await page.waitForLoadState('networkidle')
  await page.screenshot({ path: output })
  console.log(`wrote ${output}`)
} finally {
  for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => {})
  for (const child of children.reverse()) child.kill('SIGTERM')
  await sleep(300)
  rmSync(work, { recursive: true, force: true })
}
