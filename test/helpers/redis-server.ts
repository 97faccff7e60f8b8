/**
 * A real Debian redis-server (or valkey-server, from bookworm-backports) for tests, bound to
 * 127.0.0.1 on a free port with a private data folder. `kill` and `restart` simulate an outage on
 * the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import type { Test } from 'tap'

/** which server a test runs against: Debian's redis-server, or Valkey 8 from bookworm-backports */
export type RedisEngine = 'redis' | 'valkey'
export const ENGINES: readonly RedisEngine[] = ['redis', 'valkey']

/** the engine's server and CLI binaries (the Valkey packages install both names under valkey-) */
export function engineBinaries(engine: RedisEngine): { server: string; cli: string } {
  return engine === 'valkey' ? { server: 'valkey-server', cli: 'valkey-cli' } : { server: 'redis-server', cli: 'redis-cli' }
}

export interface StartRedisOptions {
  engine?: RedisEngine
}

export interface TestRedis {
  url: string
  port: number
  /** stops the server for good and removes its data folder */
  stop(): Promise<void>
  /** SIGKILL: the server disappears without a goodbye, as in a crash */
  kill(): Promise<void>
  /** starts it again on the same port */
  restart(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  server.close()
  await once(server, 'close')
  return port
}

export async function startRedis(extraArgs: string[] = [], options: StartRedisOptions = {}): Promise<TestRedis> {
  const binary = engineBinaries(options.engine ?? 'redis').server
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'zenith-redis-'))
  let child: ChildProcess | null = null

  async function launch(): Promise<void> {
    child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...extraArgs], {
      stdio: 'ignore',
    })
    const exited = once(child, 'exit').then(() => {
      throw new Error(`${binary} on port ${port} exited at start`)
    })
    await Promise.race([waitForPing(port), exited])
    exited.catch(() => {})
  }

  async function halt(signal: NodeJS.Signals): Promise<void> {
    const running = child
    child = null
    if (!running || running.exitCode !== null) return
    const exited = once(running, 'exit')
    running.kill(signal)
    await exited
  }

  await launch()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await halt('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
    kill: () => halt('SIGKILL'),
    restart: launch,
  }
}

async function waitForPing(port: number, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs
  for (;;) {
    if (await ping(port)) return
    if (Date.now() > until) throw new Error(`redis-server on port ${port} did not answer PING`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(500)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/**
 * A private redis-server for one test file or subtest and a client connected to it, both closed in
 * `t.teardown` (client first, so it says goodbye to a live server).
 */
export async function useRedis(t: Pick<Test, 'teardown'>, options: RedisOptions = {}): Promise<{ server: TestRedis; redis: Redis }> {
  const server = await startRedis()
  const redis = new Redis(server.url, options)
  t.teardown(async () => {
    await redis.quit().catch(() => redis.disconnect())
    await server.stop()
  })
  return { server, redis }
}
