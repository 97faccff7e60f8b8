/**
 * `/livez` under attack: the console as it runs in production (a child process, collector ticking
 * every 2 s) serving a normal fleet whose nodes keep beating, measured over HTTP first as it is,
 * then with one hostile agent holding only the documented agent ACL (test/scenarios/agents/
 * hostile.ts): 200,000 index members scored years ahead, in whatever index it may write, and 20
 * slow-log entries of 10 MB. Same console, same Redis, one run. Aim: p99 with the attack within
 * 2× the p99 without.
 *
 * Its own redis-server, with an output-buffer limit per client: one such reply per tick, unread,
 * once grew redis-server past 20 GB on a machine like this one.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createInterface } from 'node:readline'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redis-server.js'
import { startHostileAgent } from '../test/scenarios/agents/hostile.js'
import { writeNodes } from './fixtures.js'
import { percentile, round } from './stats.js'

export interface AttackRow {
  phase: 'without attack' | 'with attack'
  requests: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** requests that failed or did not answer within REQUEST_TIMEOUT_MS (counted at that time) */
  errors: number
  /** the console's largest resident set while measured */
  maxRssMb: number
  /** lines the console logged while measured */
  logLines: number
}

export interface AttackResult {
  nodes: number
  seconds: number
  clients: number
  ghosts: number
  slowEntries: number
  slowEntryMb: number
  rows: AttackRow[]
  /** p99 with the attack / p99 without */
  ratio: number
}

const GHOSTS = 200_000
const SLOW_ENTRIES = 20
const SLOW_ENTRY_BYTES = 10 * 1024 * 1024
const REQUEST_TIMEOUT_MS = 30_000
const TICK_MS = 2_000

export async function benchAttack(nodes: number, seconds: number, clients = 4): Promise<AttackResult> {
  const redisServer = await startRedis(['--client-output-buffer-limit', 'normal 2gb 1gb 60'])
  const admin = new Redis(redisServer.url)
  let child: ChildProcess | null = null
  let beating: NodeJS.Timeout | null = null
  try {
    await writeNodes(admin, nodes, 40, Date.now())
    // the fleet keeps beating: a fifth of the nodes every tick, as with beats every 10 s
    let beat = 0
    beating = setInterval(() => {
      const fifth = beat++ % 5
      void writeNodes(admin, nodes, 40, Date.now(), (n) => n % 5 === fifth).catch(() => {})
    }, TICK_MS)

    child = spawn(process.execPath, ['--import', 'tsx', new URL('./fragment-server.ts', import.meta.url).pathname, redisServer.url], { stdio: ['ignore', 'pipe', 'pipe'] })
    let logLines = 0
    createInterface({ input: child.stderr! }).on('line', () => void logLines++)
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string]
    const url = `http://127.0.0.1:${line.trim()}/livez`
    const pid = child.pid!

    // warm-up over two ticks: the first ones read every node and create its history series
    await measure(url, 2 * (TICK_MS / 1000), clients, pid)
    const rows: AttackRow[] = []
    logLines = 0
    rows.push({ phase: 'without attack', ...(await measure(url, seconds, clients, pid)), logLines })

    const hostile = await startHostileAgent(admin, redisServer.url)
    const landed = [...(await hostile.ghostMembers(GHOSTS, Date.now())), ...(await hostile.hugeSlowEntries(SLOW_ENTRIES, SLOW_ENTRY_BYTES, Date.now()))]
    await hostile.close()
    if (landed.length < 2) throw new Error(`the attack did not land: ${landed.join(', ')}`)
    logLines = 0
    rows.push({ phase: 'with attack', ...(await measure(url, seconds, clients, pid)), logLines })

    return {
      nodes,
      seconds,
      clients,
      ghosts: GHOSTS,
      slowEntries: SLOW_ENTRIES,
      slowEntryMb: SLOW_ENTRY_BYTES / 2 ** 20,
      rows,
      ratio: round2(rows[1]!.p99Ms / Math.max(0.1, rows[0]!.p99Ms)),
    }
  } finally {
    if (beating) clearInterval(beating)
    if (child) await stop(child)
    admin.disconnect()
    await redisServer.stop()
  }
}

/** `clients` loops, each sending one request after the other for `seconds`, on kept-alive sockets. */
async function measure(url: string, seconds: number, clients: number, pid: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients })
  const latencies: number[] = []
  let errors = 0
  let maxRss = rssMb(pid)
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, rssMb(pid))
  }, 250)
  const until = performance.now() + seconds * 1000
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const started = performance.now()
        const ok = await get(url, agent)
        latencies.push(performance.now() - started)
        if (!ok) errors++
      }
    }),
  )
  clearInterval(sampler)
  agent.destroy()
  return {
    requests: latencies.length,
    p50Ms: round(percentile(latencies, 50), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    maxMs: round(Math.max(...latencies), 1),
    errors,
    maxRssMb: Math.round(maxRss),
  }
}

function get(url: string, agent: Agent): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200))
      res.on('error', () => resolve(false))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve(false))
    req.end()
  })
}

function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) / 1024 : 0
  } catch {
    return 0
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}
