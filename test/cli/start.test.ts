import t, { type Test } from 'tap'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { startRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { cleanEnv, isAlive, logLines, spawnCli } from './run-cli.js'

interface Started {
  child: ChildProcess
  url: string
  lines: () => Array<Record<string, unknown>>
  exit: Promise<[number | null, NodeJS.Signals | null]>
}

/** Spawns `zenith start`, waits for the log line that carries the console's URL. */
async function startConsole(t: Test, args: string[], env = cleanEnv(), ownGroup = false): Promise<Started> {
  const child = spawnCli(['start', '--port', '0', ...args], env, ownGroup)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => (stdout += chunk))
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  // 'close' rather than 'exit': every log line has been read by then
  const exit = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    // a test that failed half-way: a graceful stop first, so an embedded redis-server goes too
    child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const stopped = await Promise.race([exit.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, 12_000, false)))])
    clearTimeout(timer)
    if (!stopped) process.kill(ownGroup ? -child.pid! : child.pid!, 'SIGKILL')
  })
  const url = await new Promise<string>((resolve, reject) => {
    const look = () => {
      const line = logLines(stdout).find((entry) => typeof entry.url === 'string' && /console at/.test(String(entry.msg)))
      if (line) resolve(String(line.url))
    }
    child.stdout!.on('data', look)
    void exit.then(([code]) => reject(new Error(`zenith exited with ${code} before serving: ${stderr}`)))
  })
  return { child, url, lines: () => logLines(stdout), exit }
}

async function expectReady(t: Test, url: string) {
  const live = await fetch(`${url}/livez`)
  t.equal(live.status, 200, '/livez')
  // ready once the first collector tick has reached Redis
  await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, '/readyz 200')
  t.pass('/readyz answers 200')
}

t.test('start against an existing Redis: serves, then SIGTERM exits 0', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  // the flags win: the environment's values are invalid and must not be read
  const env = cleanEnv({ PORT: 'abc', REDIS_URL: 'http://not-redis' })
  const zenith = await startConsole(t, ['--url', redis.url, '--host', '127.0.0.1'], env)
  t.match(zenith.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.not(zenith.url, 'http://127.0.0.1:0')
  await expectReady(t, zenith.url)

  zenith.child.kill('SIGTERM')
  const [code, signal] = await zenith.exit
  t.equal(code, 0, 'graceful shutdown exits 0')
  t.equal(signal, null)
  t.ok(zenith.lines().some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM'))
  t.ok(
    zenith.lines().some((line) => line.msg === 'stopped'),
    'the last line says it stopped',
  )
})

t.test('start with the embedded default: its own redis-server, stopped with the console', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'zenith-embedded-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const zenith = await startConsole(t, ['--data-dir', dataDir])
  await expectReady(t, zenith.url)

  const embedded = zenith.lines().find((line) => /embedded redis-server/.test(String(line.msg)))
  t.match(embedded, { url: /^redis:\/\/127\.0\.0\.1:\d+$/, dataDir }, 'logs the embedded Redis URL')
  const redisPid = Number(embedded?.redisPid)
  t.ok(isAlive(redisPid), 'redis-server runs while the console runs')

  zenith.child.kill('SIGTERM')
  const [code] = await zenith.exit
  t.equal(code, 0)
  t.notOk(isAlive(redisPid), 'redis-server stopped before the console exited')
  t.ok(existsSync(join(dataDir, 'dump.rdb')), 'redis-server saved its data on the way out')
})

t.test('Ctrl-C in a terminal (SIGINT to the whole process group) shuts down cleanly', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'zenith-ctrl-c-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const zenith = await startConsole(t, ['--data-dir', dataDir, '--no-self-monitor'], cleanEnv(), true)
  await expectReady(t, zenith.url)
  const redisPid = Number(zenith.lines().find((line) => /embedded redis-server/.test(String(line.msg)))?.redisPid)

  // the embedded redis-server gets the signal too, and may be gone before the console closes
  process.kill(-zenith.child.pid!, 'SIGINT')
  const [code] = await zenith.exit
  t.equal(code, 0)
  t.notOk(isAlive(redisPid))
  t.same(
    zenith.lines().filter((line) => Number(line.level) >= 50),
    [],
    'no error logged',
  )
})
