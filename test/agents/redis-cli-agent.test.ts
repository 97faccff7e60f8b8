/**
 * The bash agent of examples/ writes its heartbeat and index entry in one MULTI on one connection,
 * as PROTOCOL.md asks, and the console shows the node. Redis's MONITOR shows every command with
 * the client that sent it.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'

const script = fileURLToPath(new URL('../../examples/redis-cli-agent.sh', import.meta.url))
const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

t.test('one beat is one MULTI on one connection, and the console lists the node', async (t) => {
  const admin = new Redis(redisServer.url)
  t.teardown(() => admin.quit())
  const monitor = await admin.monitor()
  t.teardown(() => monitor.disconnect())
  const seen: { command: string; client: string }[] = []
  monitor.on('monitor', (_time: string, args: string[], source: string) => void seen.push({ command: String(args[0]).toUpperCase(), client: source }))

  await promisify(execFile)('bash', [script, '--once'], { env: { PATH: process.env.PATH ?? '', REDIS_URL: redisServer.url, SERVICE: 'backup-job', NODE_ID: 'box-7' } })
  // MONITOR reports in order: once a marker sent after the script ended shows, all of it has
  await admin.echo('after-the-beat')
  await eventually(() => seen.some((entry) => entry.command === 'ECHO'), 'the marker reaches MONITOR')

  const writes = seen.filter((entry) => ['MULTI', 'SET', 'ZADD', 'EXEC'].includes(entry.command))
  t.same(
    writes.map((entry) => entry.command),
    ['MULTI', 'SET', 'ZADD', 'EXEC'],
  )
  t.equal(new Set(writes.map((entry) => entry.client)).size, 1, 'all from one client')

  const app = await buildTestApp({ redisUrl: redisServer.url })
  t.teardown(() => app.close())
  await app.collector.refresh()
  const node = (await app.inject('/api/pulse/nodes')).json().services.find((s: { name: string }) => s.name === 'backup-job')?.nodes[0]
  t.match(node, { id: 'box-7', service: 'backup-job', language: 'other', health: 'fresh' })
  t.ok(Number(await admin.zscore('gravito:quasar:index:nodes:backup-job', 'box-7')) > 0, 'the index entry was written')
})
