/**
 * Console memory with a large fleet beating and a person viewing /pulse. The console runs as the
 * `zenith` bin (dist/server/cli.js) in a child process, so its resident set is its own and not the
 * load generator's; RSS is read from /proc/<pid>/status, as `ps` or a container limit sees it.
 *
 * Before each console starts, Redis holds the fleet and five minutes of its history (what the
 * node cards' sparklines show), as for a console restarted beside a running fleet: the console
 * reads that history back in its first ticks, so the window measures the steady state, with every
 * node's recent samples in memory, rather than a console whose sparklines are still filling.
 *
 * Meanwhile this process writes the fleet's beats (every node every 10 s, a fifth of them every
 * 2 s, like the responsiveness bench) and polls every POLL_MS like a /pulse tab plus an API
 * client: the page (every PAGE_EVERY_MS), its nodes fragment (revalidated with If-None-Match, as
 * htmx does) and the nodes JSON, gzip accepted.
 *
 * The baseline is the same console at BASELINE_COMMIT, built from a temporary git worktree (sharing
 * this checkout's node_modules) and measured the same way in the same run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { createHistoryStore, type SampleWrite } from '../server/history/store.js'
import { bucketOf, RAW, RECENT_SAMPLES } from '../server/history/metrics.js'
import { encodeSample } from '../server/history/encoding.js'
import { createConsoleKeys } from '../server/redis/keys.js'
import { DEFAULT_PREFIX } from '@gravito/quasar/protocol'
import { writeNodes } from './fixtures.js'
import { median, percentile, round } from './stats.js'

/** The console before this round of memory work: the same measurement, side by side. */
export const BASELINE_COMMIT = 'c61c028'

const BEAT_EVERY_MS = 2_000
const POLL_MS = 3_000
/** a viewer opens /pulse, then its nodes region polls; the whole page is loaded again this often */
export const PAGE_EVERY_MS = 3_000
const SAMPLE_EVERY_MS = 1_000
const SERVICES = 40
const REPO_ROOT = new URL('..', import.meta.url).pathname

export interface MemoryRow {
  console: string
  nodes: number
  medianRssMb: number
  p95RssMb: number
  maxRssMb: number
  /** the console's CPU time over the sampled window, as a share of one core */
  cpuPercent: number
  /** the page and the nodes fragment as a browser loads them (gzip), median over the window */
  pageMedianMs: number
  fragmentMedianMs: number
  apiMedianMs: number
  /** polls answered with anything but 2xx (503 when the console sheds load) */
  non2xx: number
  samples: number
}

export interface MemoryOptions {
  nodes: number
  /** not sampled: the first ticks, history fills and JIT */
  warmupMs: number
  sampleMs: number
  /** how often the viewer loads the whole page; its fragment and the API are polled every POLL_MS */
  pageEveryMs: number
  /** where the console's log lines go; dropped when absent */
  logFile?: string
}

/**
 * A young generation of 2 × 4 MB instead of V8's 2 × 16 MB. Node takes it only at launch (on its
 * command line or in NODE_OPTIONS), not from the running process (`v8.setFlagsFromString` with it
 * changed nothing, measured), so it is measured as a deployment option beside the rest.
 */
export const SMALL_YOUNG_GENERATION = ['--max-semi-space-size=4']
/**
 * glibc's malloc makes up to 8 arenas per core for the threads that allocate (V8's compiler and
 * GC threads, libuv's pool) and gives little back; it reads this only at launch.
 */
export const FEW_MALLOC_ARENAS = { MALLOC_ARENA_MAX: '2' }

/** Measures the baseline (built from git), then this checkout's build, on the same Redis. */
export async function benchMemory(redisUrl: string, options: MemoryOptions): Promise<MemoryRow[]> {
  const baseline = buildBaseline()
  const ours = join(REPO_ROOT, 'dist/server/cli.js')
  try {
    return [
      await measureConsole(`before (${BASELINE_COMMIT})`, join(baseline.dir, 'dist/server/cli.js'), redisUrl, options),
      await measureConsole('after (this checkout)', ours, redisUrl, options),
      await measureConsole(`after, node ${SMALL_YOUNG_GENERATION.join(' ')}, MALLOC_ARENA_MAX=2 (npm start and the Docker image)`, ours, redisUrl, options, SMALL_YOUNG_GENERATION, FEW_MALLOC_ARENAS),
    ]
  } finally {
    baseline.remove()
  }
}

/** A worktree of BASELINE_COMMIT under the OS temp dir, built with this checkout's node_modules. */
function buildBaseline(): { dir: string; remove(): void } {
  const dir = join(mkdtempSync(join(tmpdir(), 'zenith-memory-baseline-')), 'zenith')
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  const remove = () => {
    if (existsSync(dir)) git('worktree', 'remove', '--force', dir)
    rmSync(join(dir, '..'), { recursive: true, force: true })
    git('worktree', 'prune')
  }
  try {
    git('worktree', 'add', '--detach', dir, BASELINE_COMMIT)
    linkDependencies(dir)
    execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] })
    return { dir, remove }
  } catch (error) {
    remove()
    throw error
  }
}

/**
 * The baseline gets this checkout's installed packages, each linked, except the SDK: the workspace
 * link must point at the baseline's own `sdk/`, or the baseline would build against today's SDK.
 */
function linkDependencies(dir: string): void {
  const modules = join(REPO_ROOT, 'node_modules')
  mkdirSync(join(dir, 'node_modules', '@gravito'), { recursive: true })
  for (const entry of readdirSync(modules)) {
    if (entry !== '@gravito') symlinkSync(join(modules, entry), join(dir, 'node_modules', entry))
  }
  symlinkSync(join(dir, 'sdk'), join(dir, 'node_modules', '@gravito', 'quasar'), 'dir')
}

export async function measureConsole(label: string, cliPath: string, redisUrl: string, options: MemoryOptions, nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<MemoryRow> {
  const redis = new Redis(redisUrl)
  await redis.flushall()
  await writeRecentHistory(redis, options.nodes)
  // beats last: written before the history, they would be seconds old when the console starts
  await writeNodes(redis, options.nodes, SERVICES, Date.now())
  const child = spawn(process.execPath, [...nodeArgs, cliPath, 'start', '--url', redisUrl, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  try {
    const base = await consoleUrl(child, options.logFile)
    let running = true
    const beats = (async () => {
      for (let round = 0; running; round++) {
        const started = Date.now()
        await writeNodes(redis, options.nodes, SERVICES, started, (n) => n % 5 === round % 5)
        await sleep(Math.max(0, BEAT_EVERY_MS - (Date.now() - started)))
      }
    })()
    const timings = { page: [] as number[], fragment: [] as number[], api: [] as number[], non2xx: 0 }
    let sampling = false
    const viewer = (async () => {
      let pageAt = Number.NEGATIVE_INFINITY
      let etag: string | undefined
      while (running) {
        const started = Date.now()
        const answers: Answer[] = []
        if (started - pageAt >= options.pageEveryMs) {
          pageAt = started
          answers.push(await get(`${base}/pulse`))
          if (sampling) timings.page.push(answers[0]!.ms)
        }
        // as htmx polls: revalidating what it has, so an unchanged fragment costs a 304
        const fragment = await get(`${base}/fragments/pulse/nodes`, etag)
        etag = fragment.etag ?? etag
        const api = await get(`${base}/api/pulse/nodes`)
        answers.push(fragment, api)
        if (sampling) {
          if (fragment.ok) timings.fragment.push(fragment.ms)
          if (api.ok) timings.api.push(api.ms)
          timings.non2xx += answers.filter((answer) => !answer.ok).length
        }
        await sleep(Math.max(0, POLL_MS - (Date.now() - started)))
      }
    })()
    // a failed writer or viewer ends the measurement (with its error) instead of going unnoticed
    const stopOnError = (error: unknown) => {
      running = false
      throw error
    }
    const load = Promise.all([beats.catch(stopOnError), viewer.catch(stopOnError)])
    load.catch(() => {})
    await sleep(options.warmupMs)
    sampling = true
    const rss: number[] = []
    const cpuAtStart = cpuMs(child.pid!)
    const startedAt = Date.now()
    while (running && Date.now() - startedAt < options.sampleMs) {
      rss.push(rssBytes(child.pid!))
      await sleep(SAMPLE_EVERY_MS)
    }
    const cpuPercent = ((cpuMs(child.pid!) - cpuAtStart) / (Date.now() - startedAt)) * 100
    running = false
    await load
    const mb = (bytes: number) => round(bytes / 2 ** 20)
    return {
      console: label,
      nodes: options.nodes,
      medianRssMb: mb(median(rss)),
      p95RssMb: mb(percentile(rss, 95)),
      maxRssMb: mb(Math.max(...rss)),
      cpuPercent: round(cpuPercent),
      pageMedianMs: round(median(timings.page)),
      fragmentMedianMs: round(median(timings.fragment)),
      apiMedianMs: round(median(timings.api)),
      non2xx: timings.non2xx,
      samples: rss.length,
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

/** RECENT_SAMPLES raw samples per node up to now, written as the console itself writes them. */
export async function writeRecentHistory(redis: Redis, nodes: number): Promise<void> {
  const store = createHistoryStore(redis, createConsoleKeys(DEFAULT_PREFIX))
  const newest = bucketOf(Date.now(), RAW.bucketMs) - RAW.bucketMs
  let writes: SampleWrite[] = []
  for (let i = 0; i < nodes; i++) {
    for (let k = 0; k < RECENT_SAMPLES; k++) {
      // values that move, as a real fleet's do: CPU %, CPU %, memory %, RSS bytes, lag ms
      const wave = Math.sin(i + k / 3)
      const values = [40 + 30 * wave, 10 + 5 * wave, 60 + 20 * wave, 150e6 + 20e6 * wave, 2 + wave]
      writes.push({ kind: 'node', service: `service-${i % SERVICES}`, id: `node-${i}`, bucket: newest - k * RAW.bucketMs, value: encodeSample('node', values) })
    }
    if (writes.length >= 20_000) {
      await store.sync(writes, [], Date.now(), RECENT_SAMPLES)
      writes = []
    }
  }
  await store.sync(writes, [], Date.now(), RECENT_SAMPLES)
}

/** The console logs its URL (pino JSON on stdout) once it listens; the rest of stdout is drained. */
export async function consoleUrl(child: ChildProcess, logFile?: string): Promise<string> {
  const lines = createInterface({ input: child.stdout! })
  if (logFile) lines.on('line', (line) => appendFileSync(logFile, `${line}\n`))
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`console exited with code ${code} before listening`)
  })
  const listening = new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: unknown }
        if (typeof entry.url === 'string') resolve(entry.url)
      } catch {
        // not a log line: ignored
      }
    })
  })
  const url = await Promise.race([listening, exited])
  exited.catch(() => {})
  return url
}

interface Answer {
  /** 2xx or 304 */
  ok: boolean
  ms: number
  etag: string | undefined
}

/** A browser's request: gzip accepted, the whole body read. */
async function get(url: string, etag?: string): Promise<Answer> {
  const started = performance.now()
  const response = await fetch(url, { headers: { 'accept-encoding': 'gzip', ...(etag ? { 'if-none-match': etag } : {}) } })
  await response.arrayBuffer()
  return { ok: response.ok || response.status === 304, ms: performance.now() - started, etag: response.headers.get('etag') ?? undefined }
}

export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!match) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(match[1]) * 1024
}

/** User plus system CPU time of a process, from /proc/<pid>/stat (fields 14 and 15, in ticks). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
