/**
 * The whole console with `redisCluster: true` on a real 3-master Cluster, for Redis and Valkey:
 * agents' data written the way agents write it (a raw ioredis Cluster client), spread over every
 * master, in several orders, with a hostile agent's bad keys beside it; then every area read back
 * through the app: nodes, queues, slow, history, commands (send, result, audit), alerts, sessions
 * and login limits, the archive, problems, /readyz, and `zenith doctor --cluster`. A store that
 * sent one pipeline or script across slots fails here with CROSSSLOT; a read sent to one random
 * master sees a third of the data.
 */
import t from 'tap'
import calculateSlot from 'cluster-key-slot'
import type { Cluster } from 'ioredis'
import { createKeys, jobRecordFields, type Heartbeat } from '@gravito/quasar/protocol'
import { ENGINES } from '../helpers/redis-server.js'
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { shuffled } from '../helpers/shuffle.js'
import { eventually } from '../helpers/eventually.js'
import { FORM, login, probeRoutes, submitLogin, writeUsersFile } from '../auth/helpers.js'
import { jobRecord, searchAll, tempDir } from '../archive/helpers.js'
import { TOKEN } from '../commands/signed.js'
import { runCli as runInProcess } from '../../server/cli/program.js'

const keys = createKeys()
const SERVICES = Array.from({ length: 12 }, (_, i) => `svc-${i}`)
const NODES_PER_SERVICE = 4
const USERS = [
  { username: 'olivia', password: 'operator-password-1', role: 'operator' },
  { username: 'victor', password: 'viewer-password-1', role: 'viewer' },
]
const usersFile = await writeUsersFile(USERS)

function beat(service: string, nodeId: string, now: number): Heartbeat {
  return sampleHeartbeat({ timestamp: now, id: nodeId, service, queues: [{ name: `${service}-jobs`, driver: 'bullmq', metrics: { waiting: 1, active: 0 } }] })
}

/** Everything an agent fleet writes, each service's keys on whichever master their slot says. */
async function writeFleet(agent: Cluster, order: readonly string[], now: number): Promise<void> {
  for (const service of order) {
    for (let n = 0; n < NODES_PER_SERVICE; n++) {
      const nodeId = `${service}-n${n}`
      await agent.set(keys.node(service, nodeId), JSON.stringify(beat(service, nodeId, now)), 'EX', 60)
      await agent.zadd(keys.nodeIndex(), now, keys.indexMember(service, nodeId))
    }
    const i = SERVICES.indexOf(service)
    await agent.set(keys.queues(service), JSON.stringify({ service, timestamp: now, queues: [{ name: `${service}-jobs`, driver: 'bullmq', metrics: { waiting: i, active: 1, delayed: 0, failed: 0 } }] }))
    for (let e = 0; e <= i % 3; e++) await agent.xadd(keys.slow(service), '*', 'kind', 'request', 'name', `GET /${service}/${e}`, 'durationMs', String(600 + e), 'at', String(now))
    for (let j = 0; j < 4; j++) await agent.xadd(keys.archive(service), '*', ...jobRecordFields(jobRecord(service, j)))
  }
}

/** A hostile agent of its own service: a hash squatting on a heartbeat key, a huge beat, a bad name. */
async function writeHostile(agent: Cluster): Promise<string[]> {
  const squatter = keys.node('evil', 'squat')
  const huge = keys.node('evil', 'huge')
  await agent.hset(squatter, 'not', 'a heartbeat')
  await agent.set(huge, 'x'.repeat(300_000), 'EX', 60)
  await agent.set(`${keys.node('evil', 'bad')}:extra:part`, '{}', 'EX', 60)
  await agent.hset(keys.slow('evil'), 'not', 'a stream')
  await agent.hset(keys.archive('evil'), 'not', 'a stream')
  return [squatter, huge]
}

for (const engine of ENGINES) {
  t.test(`${engine}: every area of the console on a 3-master Cluster`, async (t) => {
    const cluster: TestCluster = await startRedisCluster(3, { engine })
    t.teardown(() => cluster.stop())
    const agent = cluster.connect()
    t.teardown(() => agent.quit())
    const clock = fakeClock(Date.now())
    const app = await buildTestApp({
      redisUrl: cluster.url,
      redisCluster: true,
      clock,
      quasarToken: TOKEN,
      usersFile,
      routes: probeRoutes,
      archive: `sqlite:${tempDir(t)}/archive.db`,
    })
    t.teardown(() => app.close())

    const nodeKeys = SERVICES.flatMap((service) => Array.from({ length: NODES_PER_SERVICE }, (_, n) => keys.node(service, `${service}-n${n}`)))
    t.equal(new Set(nodeKeys.map((key) => calculateSlot(key))).size > 3, true, 'the fleet spans many slots')
    const order = shuffled([...SERVICES], engine === 'redis' ? 7 : 11)
    await writeFleet(agent, order, clock())
    const hostile = await writeHostile(agent)

    // two ticks: the queues part reads the queues named in the previous tick's heartbeats
    await app.collector.refresh()
    clock.advance(2_000)
    const snapshot = await app.collector.refresh()
    t.same(snapshot.redis, { up: true, downSince: null }, 'reachable, no shard degraded')
    const viewer = await login(app, { username: 'victor', password: 'viewer-password-1' })
    const get = (url: string) => app.inject({ url, headers: { cookie: viewer.cookie } })
    for (const [part, status] of Object.entries(snapshot.parts)) t.equal(status.failures, 0, `${part} read without failing`)

    t.test('nodes: every node of every service, the hostile keys left out', async (t) => {
      const listed = new Set(snapshot.nodes.filter((node) => node.keyPresent).map((node) => `${node.service}/${node.nodeId}`))
      for (const service of SERVICES) for (let n = 0; n < NODES_PER_SERVICE; n++) t.ok(listed.has(`${service}/${service}-n${n}`), `${service}-n${n} listed`)
      t.equal(listed.size, SERVICES.length * NODES_PER_SERVICE, 'and nothing else')
      const api = (await get('/api/pulse/nodes')).json() as { services: { name: string; nodes: unknown[] }[] }
      t.same(
        api.services.map((service) => service.name),
        [...SERVICES].sort(),
        'the API lists every service',
      )
    })

    t.test('problems: the hostile keys, each under its own key and reason', async (t) => {
      const problems = (await get('/api/problems')).json() as { problems: { key: string; reason: string }[] }
      const byKey = new Map(problems.problems.map((problem) => [problem.key, problem.reason]))
      t.match(byKey.get(hostile[0]!), /hash/, 'the squatter')
      t.match(byKey.get(hostile[1]!), /bytes/, 'the huge beat')
      t.ok(
        problems.problems.some((problem) => problem.key.includes('evil')),
        'found wherever their slots are',
      )
      for (const key of byKey.keys())
        t.notOk(
          SERVICES.some((service) => key.includes(`:${service}:`) || key.endsWith(`:${service}`)),
          `${key} belongs to no honest service`,
        )
    })

    t.test('queues and slow: every service, from every master', async (t) => {
      const queues = (await get('/api/pulse/queues')).json() as { queues: { service: string; name: string; waiting: number }[] }
      for (const [i, service] of SERVICES.entries()) {
        t.equal(queues.queues.find((queue) => queue.service === service && queue.name === `${service}-jobs`)?.waiting, i, `${service}'s own count`)
      }
      const slow = (await get('/api/pulse/slow')).json() as { entries: { name: string }[] }
      const names = new Set(slow.entries.map((entry) => entry.name))
      for (const [i, service] of SERVICES.entries()) for (let e = 0; e <= i % 3; e++) t.ok(names.has(`GET /${service}/${e}`), `${service} entry ${e}`)
    })

    t.test('history: a node series written and read back', async (t) => {
      const service = order[3]!
      const history = (await get(`/api/pulse/nodes/${service}/${service}-n1/history`)).json() as { points: unknown[] }
      t.ok(history.points.length > 0, 'points recorded for a node on any master')
    })

    t.test('archive: every service stream claimed, the hostile one skipped alone', async (t) => {
      let ingested = 0
      for (;;) {
        const drained = await app.archive.ingest!.drain()
        ingested += drained.ingested
        if (!drained.more) break
      }
      t.equal(ingested, SERVICES.length * 4, 'every record of every service')
      const rows = await searchAll(app)
      t.same([...new Set(rows.map((row) => row.service))].sort(), [...SERVICES].sort(), 'rows of every service')
    })

    t.test('commands: sent to nodes on every master, answered, audited', async (t) => {
      const { cookie, csrf } = await login(app, { username: 'olivia', password: 'operator-password-1' })
      const headers = { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }
      const targets = shuffled([...SERVICES], 3).slice(0, 6)
      const ids = new Map<string, { service: string; nodeId: string }>()
      for (const [i, service] of targets.entries()) {
        const nodeId = `${service}-n${i % NODES_PER_SERVICE}`
        const sent = await app.inject({ method: 'POST', url: '/api/pulse/command', headers, payload: JSON.stringify({ service, nodeId, type: 'RETRY_JOB', queue: `${service}-jobs`, jobId: String(100 + i) }) })
        t.equal(sent.statusCode, 202, `${service}/${nodeId}: accepted`)
        const id = (sent.json() as { id: string }).id
        ids.set(id, { service, nodeId })
        const stream = await agent.xrange(keys.commandStream(service, nodeId), '-', '+')
        t.ok(
          stream.some(([, fields]) => fields.join(' ').includes(id)),
          'on its node stream',
        )
      }
      // agents answer in another order than they were sent
      for (const [id, { service, nodeId }] of shuffled([...ids], 5)) {
        await agent.set(keys.commandResult(service, id), JSON.stringify({ id, status: 'ok', service, nodeId, finishedAt: clock() }), 'EX', 600)
      }
      clock.advance(2_000)
      await app.collector.refresh()
      for (const id of ids.keys()) t.match((await app.inject({ url: `/api/pulse/command/${id}`, headers: { cookie } })).json(), { status: 'ok', sentBy: 'olivia' }, `${id} finished`)
      const audit = (await app.inject({ url: '/api/pulse/audit', headers: { cookie } })).json() as { commands: { id: string }[] }
      t.same(audit.commands.map((command) => command.id).sort(), [...ids.keys()].sort(), 'each in the audit log once')
    })

    t.test('sessions and login limits', async (t) => {
      const sessions = [await login(app, { username: 'victor', password: 'viewer-password-1' }), await login(app, { username: 'victor', password: 'viewer-password-1' })]
      for (const session of sessions) t.equal((await app.inject({ url: '/test/locals', headers: { cookie: session.cookie } })).statusCode, 200, 'logged in')
      const ended = await app.inject({ method: 'POST', url: '/account/sessions/end-mine', headers: { cookie: sessions[0]!.cookie, 'content-type': FORM }, payload: `_csrf=${encodeURIComponent(sessions[0]!.csrf)}` })
      t.equal(ended.statusCode, 303)
      for (const session of sessions) t.equal((await app.inject({ url: '/test/locals', headers: { cookie: session.cookie } })).statusCode, 303, 'every session ended')
      const codes: number[] = []
      for (let i = 0; i < 5; i++) codes.push((await submitLogin(app, { username: 'olivia', password: `guess ${i}`, ip: '10.9.0.1' })).statusCode)
      t.same(codes, [401, 401, 401, 401, 401])
      t.equal((await submitLogin(app, { username: 'olivia', password: 'operator-password-1', ip: '10.9.0.1' })).statusCode, 429, 'locked from that address')
    })

    t.test('alerts: lost nodes on every master fire, once each', async (t) => {
      const lost = order.slice(0, 5).map((service) => ({ service, nodeId: `${service}-n2` }))
      for (const { service, nodeId } of lost) await agent.del(keys.node(service, nodeId))
      // the others keep beating
      for (const service of order)
        for (let n = 0; n < NODES_PER_SERVICE; n++) {
          if (n !== 2 || !lost.some((node) => node.service === service)) await agent.set(keys.node(service, `${service}-n${n}`), JSON.stringify(beat(service, `${service}-n${n}`, clock() + 60_000)), 'EX', 600)
        }
      clock.advance(60_000)
      await app.collector.refresh()
      clock.advance(2_000)
      await app.collector.refresh()
      const { cookie } = await login(app, { username: 'victor', password: 'viewer-password-1' })
      const alerts = (await app.inject({ url: '/api/pulse/alerts', headers: { cookie } })).json() as { firing: { rule: string; target: string }[] }
      const lostTargets = alerts.firing.filter((alert) => alert.rule === 'node-lost').map((alert) => alert.target)
      t.same(lostTargets.sort(), lost.map(({ service, nodeId }) => `${service}/${nodeId}`).sort(), 'exactly the lost nodes')
      t.equal((await app.inject('/readyz')).json().status, 'ready')
    })

    t.test('a console started with --cluster monitors itself through a Cluster agent', async (t) => {
      // its own beat comes from the SDK it starts: on a Cluster, a pipeline across slots is refused
      const own = await buildTestApp({ redisUrl: cluster.url, redisCluster: true, selfMonitor: true })
      t.teardown(() => own.close())
      await eventually(async () => (await own.collector.refresh()).nodes.some((node) => node.service === 'zenith' && node.keyPresent), 'the console lists itself')
      const self = own.collector.snapshot.nodes.find((node) => node.service === 'zenith')!
      t.equal(self.heartbeat.service, 'zenith', 'with a heartbeat the protocol reads')
      t.equal(typeof (await agent.get(keys.node('zenith', self.nodeId))), 'string', 'its heartbeat key is on the Cluster')
    })

    t.test('zenith doctor --cluster reads every master', async (t) => {
      let out = ''
      const code = await runInProcess(['node', 'zenith', 'doctor', '--cluster', '--url', cluster.url, '--json'], { out: (text) => void (out += text), err: () => {} })
      t.equal(code, 1, 'problems found: the hostile keys')
      const report = JSON.parse(out) as { reachable: boolean; keys: { count: number }; services: { name: string }[]; problems: { key: string }[] }
      t.equal(report.reachable, true)
      const names = new Set(report.services.map((service) => service.name))
      for (const service of SERVICES) t.ok(names.has(service), `${service} seen`)
      t.ok(
        report.problems.some((problem) => problem.key === hostile[0]),
        'the squatter reported',
      )
      let total = 0
      for (const node of agent.nodes('master')) total += await node.dbsize()
      t.equal(report.keys.count, total, 'keys counted on every master')
    })
  })
}
