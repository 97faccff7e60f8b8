import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { startEmbeddedRedis, RedisServerNotFoundError, REDIS_NOT_FOUND_MESSAGE } from '../../server/embedded/redis-server.js'
import { findOnPath, pingOnce } from '../../server/embedded/probe.js'
import { ROOT_DIR } from '../../server/paths.js'
import { eventually } from '../helpers/eventually.js'
import { isAlive } from '../cli/run-cli.js'

function tempDir(t: { teardown(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `zenith-${name}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function recordingLog() {
  const lines: Array<{ level: string; message: string; data: unknown }> = []
  const at = (level: string) => (data: unknown, message?: string) => void lines.push({ level, message: message ?? String(data), data })
  return { lines, log: { debug: at('debug'), info: at('info'), error: at('error') } as never }
}

t.test('starts bound to 127.0.0.1 with protected mode, answers, and stops', async (t) => {
  const dataDir = join(tempDir(t, 'embedded'), 'nested/redis')
  const { lines, log } = recordingLog()
  const redis = await startEmbeddedRedis({ dataDir, log })
  t.teardown(() => redis.stop())

  t.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/)
  t.ok(existsSync(dataDir), 'the data folder is created')
  t.ok(
    lines.some((line) => line.level === 'info' && line.message.includes(redis.url)),
    'logs its URL',
  )

  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  t.teardown(() => client.disconnect())
  t.equal(await client.ping(), 'PONG')
  t.same(await client.config('GET', 'bind'), ['bind', '127.0.0.1'])
  t.same(await client.config('GET', 'protected-mode'), ['protected-mode', 'yes'])
  t.same(await client.config('GET', 'dir'), ['dir', dataDir])
  t.same(await client.config('GET', 'appendonly'), ['appendonly', 'no'])
  t.same(await client.config('GET', 'save'), ['save', '60 1'])
  client.disconnect()

  t.ok(isAlive(redis.pid))
  await redis.stop()
  t.notOk(isAlive(redis.pid), 'the process is gone once stop() resolves')
  t.equal(await pingOnce('127.0.0.1', redis.port), false, 'nothing answers on its port')
  await redis.stop()
  t.pass('stop() twice is harmless')
  t.notOk(
    lines.some((line) => line.level === 'error'),
    'a requested stop is not reported as a crash',
  )
})

t.test('a redis-server killed from outside is reported as an error', async (t) => {
  const { lines, log } = recordingLog()
  const redis = await startEmbeddedRedis({ dataDir: tempDir(t, 'killed'), log })
  t.teardown(() => redis.stop())
  process.kill(redis.pid, 'SIGKILL')
  await eventually(() => lines.some((line) => line.level === 'error'), 'the error log line')
  t.match(
    lines.find((line) => line.level === 'error'),
    { message: 'embedded redis-server exited', data: { signal: 'SIGKILL' } },
  )
  await redis.stop()
  t.pass('stop() after a crash resolves')
})

t.test('two embedded servers get different ports', async (t) => {
  const { log } = recordingLog()
  const [a, b] = await Promise.all([startEmbeddedRedis({ dataDir: tempDir(t, 'a'), log }), startEmbeddedRedis({ dataDir: tempDir(t, 'b'), log })])
  t.teardown(() => Promise.all([a!.stop(), b!.stop()]))
  t.not(a!.port, b!.port)
})

t.test('no redis-server on PATH: RedisServerNotFoundError with the install hint', async (t) => {
  const emptyDir = tempDir(t, 'empty-path')
  t.equal(findOnPath('redis-server', emptyDir), null)
  t.equal(findOnPath('redis-server', ''), null)
  t.not(findOnPath('redis-server'), null, 'found on the real PATH')
  const { log } = recordingLog()
  const realPath = process.env.PATH
  process.env.PATH = emptyDir
  try {
    await t.rejects(startEmbeddedRedis({ dataDir: tempDir(t, 'data'), log }), RedisServerNotFoundError)
  } finally {
    process.env.PATH = realPath
  }
  t.match(REDIS_NOT_FOUND_MESSAGE, /sudo apt-get install redis-server.*brew install redis.*--url redis:\/\//)
})

t.test('a binary that dies at start: an error with its last output', async (t) => {
  const dir = tempDir(t, 'fake')
  const binary = join(dir, 'redis-server')
  writeFileSync(binary, '#!/bin/sh\necho "FATAL: cannot start"\nexit 1\n')
  chmodSync(binary, 0o755)
  const { log } = recordingLog()
  await t.rejects(startEmbeddedRedis({ dataDir: join(dir, 'data'), log, binary }), /exited at start: FATAL: cannot start/)
})

t.test('a binary that cannot be executed: an error, not a hang', async (t) => {
  const dir = tempDir(t, 'noexec')
  const binary = join(dir, 'redis-server')
  writeFileSync(binary, 'not a program')
  chmodSync(binary, 0o644)
  const { log } = recordingLog()
  await t.rejects(startEmbeddedRedis({ dataDir: join(dir, 'data'), log, binary, startTimeoutMs: 60_000 }), /EACCES/)
})

t.test('a server that ignores SIGTERM is killed after the stop timeout', async (t) => {
  const dir = tempDir(t, 'stubborn')
  const binary = join(dir, 'redis-server')
  // answers PING like Redis, ignores SIGTERM
  writeFileSync(
    binary,
    `#!${process.execPath}
const net = require('node:net')
const port = Number(process.argv[process.argv.indexOf('--port') + 1])
process.on('SIGTERM', () => {})
net.createServer((socket) => socket.on('data', () => socket.write('+PONG\\r\\n'))).listen(port, '127.0.0.1')
`,
  )
  chmodSync(binary, 0o755)
  const { log } = recordingLog()
  const redis = await startEmbeddedRedis({ dataDir: join(dir, 'data'), log, binary, stopTimeoutMs: 300 })
  t.ok(isAlive(redis.pid))
  await redis.stop()
  t.notOk(isAlive(redis.pid), 'SIGKILL after the timeout')
})

t.test('the child does not outlive a console that exits without stopping it', async (t) => {
  const module = join(ROOT_DIR, 'dist/server/embedded/redis-server.js')
  const script = `
    import { startEmbeddedRedis } from ${JSON.stringify(module)}
    const quiet = { debug() {}, info() {}, error() {} }
    const redis = await startEmbeddedRedis({ dataDir: ${JSON.stringify(tempDir(t, 'orphan'))}, log: quiet })
    console.log(redis.pid)
    process.exit(3)
  `
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  parent.stdout.on('data', (chunk) => (stdout += chunk))
  const [code] = await once(parent, 'close')
  t.equal(code, 3)
  const pid = Number(stdout.trim())
  t.ok(pid > 0, 'the parent reported the child pid')
  await eventually(() => !isAlive(pid), 'the orphaned redis-server to exit')
  t.pass('redis-server exited after its parent')
})
