/**
 * The console checks the Redis version at start and after every reconnect, and warns in its log
 * and on /readyz when the server is too old. There is only one Redis here, so an older one is
 * played by a proxy that rewrites `redis_version` in INFO replies (to a text of the same length, so
 * the reply's length prefix stays true).
 */
import t from 'tap'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { parseRedisVersion, versionWarnings } from '../../server/redis/version-check.js'

const { server: redisServer, redis: direct } = await useRedis(t)
const realVersion = parseRedisVersion(await direct.info('server'))!

/** A proxy that answers INFO with `version` in place of the real one; `dropAll` forces reconnects. */
async function versionProxy(version: string) {
  let shown = version
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(redisServer.port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    }
    client.pipe(upstream)
    // an INFO reply is a few KB, one chunk on loopback: the version never straddles two
    upstream.on('data', (chunk: Buffer) => client.write(chunk.toString('latin1').replace(`redis_version:${realVersion}`, `redis_version:${shown}`), 'latin1'))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `redis://127.0.0.1:${port}`,
    show(next: string) {
      if (next.length !== realVersion.length) throw new Error('the shown version must keep the length of the real one')
      shown = next
    },
    dropAll: () => sockets.forEach((socket) => socket.destroy()),
    close: async () => {
      sockets.forEach((socket) => socket.destroy())
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** A version of the real one's length, e.g. 7.0.15 -> 6.0.16, so the proxy can swap them. */
function sameLength(major: number, minor: number): string {
  const base = `${major}.${minor}.`
  return base + '1'.repeat(Math.max(1, realVersion.length - base.length))
}

t.test('versions and what each is too old for', async (t) => {
  const cases: Array<[string | null, number]> = [
    ['5.0.14', 2],
    ['6.0.16', 2],
    ['6.2.0', 1],
    ['6.2.14', 1],
    ['6.10.1', 1],
    ['7.0.0', 0],
    ['7.0.15', 0],
    ['7.2.4', 0],
    ['8.0.1', 0],
    ['10.0', 0],
    [null, 0],
  ]
  for (const [version, count] of cases) t.equal(versionWarnings(version).length, count, String(version))
  t.match(versionWarnings('6.0.16'), [/^Redis 6\.0\.16 is older than 6\.2: agents read their commands/, /older than 7\.0: the slow log/])
  t.equal(parseRedisVersion('# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n'), '7.0.15')
  t.equal(parseRedisVersion('# Server\r\nserver_name:valkey\r\nredis_version:7.2.4\r\nvalkey_version:8.0.1\r\n'), '7.2.4')
  t.equal(parseRedisVersion('# Server\r\nredis_mode:standalone\r\n'), null)
})

t.test('an old Redis at start: a warning in the log and on /readyz, still ready', async (t) => {
  const proxy = await versionProxy(sameLength(6, 0))
  t.teardown(() => proxy.close())
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: proxy.url, logLines })
  t.teardown(() => app.close())
  await app.collector.refresh()

  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', warnings: [/older than 6\.2/, /older than 7\.0/] })
  const warned = logLines.map((line) => JSON.parse(line)).filter((line) => line.level === 40 && /older than 6\.2/.test(line.msg))
  t.equal(warned.length, 1)
  t.equal(warned[0].redisVersion, sameLength(6, 0))
})

t.test('a current Redis: no warning; after a reconnect to an older one, the warning appears', async (t) => {
  const proxy = await versionProxy(realVersion)
  t.teardown(() => proxy.close())
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: proxy.url, logLines })
  t.teardown(() => app.close())
  await app.collector.refresh()
  t.same((await app.inject('/readyz')).json(), { status: 'ready' })
  t.equal(app.redisVersion.state.version, realVersion)

  // a failover to an older server: the connection drops, the console reconnects and checks again
  proxy.show(sameLength(6, 2))
  proxy.dropAll()
  await eventually(() => app.redisVersion.state.version === sameLength(6, 2), 'the version checked again after the reconnect')
  await eventually(async () => {
    await app.collector.refresh()
    return (await app.inject('/readyz')).statusCode === 200
  }, 'ready again')
  t.match((await app.inject('/readyz')).json(), { status: 'ready', warnings: [/older than 7\.0/] })
  t.notMatch(JSON.stringify((await app.inject('/readyz')).json()), /older than 6\.2/)

  // back on a current server after another reconnect: the warning goes
  proxy.show(realVersion)
  proxy.dropAll()
  await eventually(() => app.redisVersion.state.version === realVersion, 'checked again')
  t.same(app.redisVersion.state.warnings, [])
  t.equal(logLines.filter((line) => /older than 7\.0/.test(line)).length, 1, 'logged once, when it changed')
})
