/**
 * Shutdown keeps its 10 s promise under a saturated collector: a part hanging on a Redis that no
 * longer answers is not waited for past a short bound, at three levels: the collector itself, the
 * app's close, and the real process on SIGTERM behind a proxy that stops forwarding to Redis.
 * No timing thresholds: each level either finishes (and says why in its log) or the test times out.
 * The first two catch a collector that waits for its tick (planted: both time out). The process
 * test is the end-to-end check of the signal path: with the console's 2 s command timeout its
 * ticks fail fast enough that it passes with that bug too; it fails on anything that keeps the
 * process from exiting 0 by itself (close-with-grace's own 10 s timer exits 1).
 */
import t from 'tap'
import { EventEmitter, once } from 'node:events'
import { createServer, connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Collector } from '../../server/collector/collector.js'
import type { CollectorPart } from '../../server/collector/snapshot.js'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { logLines, spawnCli } from '../cli/run-cli.js'

const silentLog = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child: () => silentLog, level: 'silent' } as never

/**
 * A part that does not answer until released (teardown releases it, so the test process can
 * end), and a promise that settles once it has been asked.
 */
function hangingPart(t: { teardown(fn: () => void): void }) {
  let asked!: () => void
  let release!: () => void
  const called = new Promise<void>((resolve) => (asked = resolve))
  const answer = new Promise<null>((resolve) => (release = () => resolve(null)))
  t.teardown(() => release())
  const part = {
    key: 'hanging',
    initial: null,
    collect: () => {
      asked()
      return answer
    },
  } as unknown as CollectorPart
  return { part, called }
}

t.test('the collector: stop gives up on a hanging tick after its bound and says so', async (t) => {
  // a part timeout of 10 minutes: without the bound, stop() would wait for it
  const collector = new Collector({ clock: Date.now, log: silentLog, tickMs: 60_000, probe: async () => 'PONG', partTimeoutMs: 600_000 })
  const { part, called } = hangingPart(t)
  collector.addPart(part as CollectorPart<never>)
  let told = 0
  collector.onSnapshot(() => void told++)
  collector.start()
  await called
  t.equal(await collector.stop(50), false, 'a tick was left running')

  const idle = new Collector({ clock: Date.now, log: silentLog, tickMs: 60_000, probe: async () => 'PONG' })
  t.equal(await idle.stop(50), true, 'nothing running: finished')
  t.equal(told, 0, 'no snapshot reached a listener')
})

t.test('the app: close() finishes with a part hanging, and the log says what was abandoned', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  const logLines: string[] = []
  const { part, called } = hangingPart(t)
  const app = await buildTestApp({
    redisUrl: redisServer.url,
    autoStart: true,
    partTimeoutMs: 600_000,
    logLines,
    routes: (scope) => scope.collector.addPart(part as CollectorPart<never>),
  })
  await called
  await app.close()
  const abandoned = logLines.map((line) => JSON.parse(line) as { event?: string; msg: string }).find((line) => line.event === 'shutdown_tick_abandoned')
  t.match(abandoned, { msg: /still reading Redis at shutdown; not waiting for it/, waitedMs: 2000 })
})

/** A TCP proxy to Redis that, once stalled, holds everything the console sends: Redis "hangs". */
async function stallingProxy(redisPort: number) {
  const events = new EventEmitter()
  const sockets = new Set<Socket>()
  let stalled = false
  const server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    }
    client.on('data', (chunk) => {
      if (stalled) events.emit('held', chunk)
      else upstream.write(chunk)
    })
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stall: () => (stalled = true),
    events,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

t.test('the process: SIGTERM while every Redis command hangs exits 0 by itself, before the grace timer', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  const proxy = await stallingProxy(redisServer.port)
  t.teardown(() => proxy.close())

  const child = spawnCli(['start', '--port', '0', '--url', proxy.url])
  let stdout = ''
  child.stdout!.on('data', (chunk) => (stdout += chunk))
  const exit = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  await eventually(() => logLines(stdout).some((line) => line.msg === 'collector part recovered' || /console at/.test(String(line.msg))), 'the console serving')
  const url = String(logLines(stdout).find((line) => /console at/.test(String(line.msg)))!.url)
  await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 'ready: ticks reach Redis')

  // from here Redis answers nothing: the next tick's commands (and the self-monitor's beat) hang
  proxy.stall()
  await once(proxy.events, 'held')
  child.kill('SIGTERM')
  const [code, signal] = await exit
  const lines = logLines(stdout)
  t.equal(signal, null)
  t.equal(code, 0, 'exited by itself (close-with-grace exits 1 when its 10 s run out)')
  t.ok(lines.some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM'))
  t.ok(
    lines.some((line) => line.msg === 'stopped'),
    'the shutdown ran to its end',
  )
  t.notOk(lines.some((line) => /killed by timeout/.test(String(line.msg))))
})
