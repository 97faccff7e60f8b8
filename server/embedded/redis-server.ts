/**
 * The zero-setup default: with no Redis URL the console runs its own redis-server, bound to
 * 127.0.0.1 on a free port, keeping its data in `dataDir`, and stops it when the console stops.
 * The child lives in the console's process group, so Ctrl-C in a terminal reaches both; a console
 * that exits any other way (crash, process.exit) sends it SIGTERM from the 'exit' handler.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { FastifyBaseLogger } from 'fastify'
import { findOnPath, freePort, pingOnce } from './probe.js'

export const REDIS_NOT_FOUND_MESSAGE = 'redis-server not found: install it (Debian/Ubuntu: sudo apt-get install redis-server, macOS: brew install redis) or pass --url redis://host:6379'

export class RedisServerNotFoundError extends Error {
  constructor() {
    super(REDIS_NOT_FOUND_MESSAGE)
    this.name = 'RedisServerNotFoundError'
  }
}

export interface EmbeddedRedisOptions {
  dataDir: string
  log: Pick<FastifyBaseLogger, 'debug' | 'info' | 'error'>
  /** path to redis-server; found on PATH when absent */
  binary?: string
  startTimeoutMs?: number
  /** how long SIGTERM may take (redis-server saves its data first) before SIGKILL */
  stopTimeoutMs?: number
}

export interface EmbeddedRedis {
  url: string
  port: number
  pid: number
  /** SIGTERM, wait for the exit, SIGKILL after `stopTimeoutMs`. Safe to call more than once. */
  stop(): Promise<void>
}

const HOST = '127.0.0.1'
const START_ATTEMPTS = 3

export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const binary = options.binary ?? findOnPath('redis-server')
  if (binary === null) throw new RedisServerNotFoundError()
  const dir = resolve(options.dataDir)
  mkdirSync(dir, { recursive: true })

  // the free port can be taken between probing and binding; a fresh port fixes that
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(HOST)
    try {
      const redis = await spawnRedis(binary, dir, port, options)
      options.log.info({ url: redis.url, dataDir: dir, redisPid: redis.pid }, `embedded redis-server at ${redis.url}`)
      return redis
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !(error instanceof EarlyExitError)) throw error
    }
  }
}

class EarlyExitError extends Error {}

async function spawnRedis(binary: string, dir: string, port: number, options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const { log, startTimeoutMs = 10_000, stopTimeoutMs = 4_000 } = options
  const args = ['--port', String(port), '--bind', HOST, '--protected-mode', 'yes', '--dir', dir, '--save', '60', '1', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning']
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const lastLines = captureOutput(child, log)
  const life = watch(child, lastLines)
  const killOnExit = () => {
    if (life.running()) child.kill('SIGTERM')
  }
  process.on('exit', killOnExit)
  void life.exited.then(() => process.off('exit', killOnExit))

  const started = await waitUntilReady(life, port, startTimeoutMs)
  if (started !== 'ready') {
    if (life.running()) child.kill('SIGKILL')
    await life.exited
    await Promise.race([life.outputDone, new Promise((resolve) => setTimeout(resolve, 200))])
    const detail = lastLines.join(' | ') || 'no output'
    if (started === 'exited') throw new EarlyExitError(`redis-server exited at start: ${detail}`)
    throw new Error(`redis-server did not answer PING within ${startTimeoutMs} ms: ${detail}`)
  }

  let stopping: Promise<void> | null = null
  void life.exited.then(() => {
    if (stopping !== null) return
    // code 0 is a clean shutdown, e.g. Ctrl-C reaching the whole process group
    if (child.exitCode === 0) log.info('embedded redis-server stopped')
    else log.error({ code: child.exitCode, signal: child.signalCode, output: lastLines.join(' | ') }, 'embedded redis-server exited')
  })

  return {
    url: `redis://${HOST}:${port}`,
    port,
    pid: child.pid ?? 0,
    stop: () => (stopping ??= stopChild(child, life, stopTimeoutMs)),
  }
}

interface Life {
  running(): boolean
  /** resolves on exit, or when the binary could not be started at all */
  exited: Promise<void>
  /** 'close': after the last output line */
  outputDone: Promise<void>
}

function watch(child: ChildProcess, lastLines: string[]): Life {
  let running = true
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running = false
      resolve()
    })
    // without a pid the spawn itself failed (EACCES, ENOENT) and no 'exit' follows
    child.on('error', (error) => {
      if (child.pid !== undefined) return
      lastLines.push(error.message)
      running = false
      resolve()
    })
  })
  // capped by callers: a forked background-save child can hold the pipe open
  const outputDone = new Promise<void>((resolve) => child.once('close', () => resolve()))
  return { running: () => running, exited, outputDone }
}

async function waitUntilReady(life: Life, port: number, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!life.running()) return 'exited'
    if (await pingOnce(HOST, port)) return 'ready'
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return 'timeout'
}

async function stopChild(child: ChildProcess, life: Life, timeoutMs: number): Promise<void> {
  if (!life.running()) return
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs)
  })
  const late = await Promise.race([life.exited.then(() => false), timedOut])
  clearTimeout(timer)
  if (late && life.running()) {
    child.kill('SIGKILL')
    await life.exited
  }
}

/**
 * Keeps redis-server's last lines for error reports and logs them at debug: at `--loglevel warning`
 * Redis still prints its start banner and host tuning advice (overcommit) as warnings, which would
 * alarm someone who only ran `npm start`.
 */
function captureOutput(child: ChildProcess, log: EmbeddedRedisOptions['log']): string[] {
  const lastLines: string[] = []
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue
    createInterface({ input: stream }).on('line', (line) => {
      const text = line.trim()
      if (text === '') return
      lastLines.push(text)
      if (lastLines.length > 5) lastLines.shift()
      log.debug({ source: 'redis-server' }, text)
    })
  }
  return lastLines
}
