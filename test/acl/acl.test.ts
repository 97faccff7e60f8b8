/**
 * The Redis ACL lines of docs/security.md, run as written against a real Redis: the SDK works as
 * the agent user and is refused outside its keys; the console works as the console user. The lines
 * are read from the document, so the docs cannot drift from what is tested.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { createKeys } from '@gravito/quasar/protocol'
import { startPulse } from '@gravito/quasar'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { documentedAclLines, documentedUserUrl, setUserArgs } from '../helpers/documented-acl.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

const keys = createKeys()

const { server: redisServer, redis: admin } = await useRedis(t)
const userUrl = (user: string) => documentedUserUrl(redisServer.url, user)

t.test('the documented ACL lines are accepted by Redis', async (t) => {
  t.equal(documentedAclLines.length, 4, 'three roles (agent, console, admin) and the queue probes on the application Redis')
  for (const line of documentedAclLines) {
    t.equal(await admin.call('ACL', 'SETUSER', ...setUserArgs(line)), 'OK', line.slice(0, 40))
  }
})

t.test('the SDK works as the agent user, and is refused outside its keys', async (t) => {
  const errors: Error[] = []
  const agent = startPulse({ service: 'billing', nodeId: 'web-1', url: userUrl('agent-billing'), intervalMs: 200, onError: (error) => void errors.push(error instanceof Error ? error : new Error(String(error))) })
  t.teardown(() => agent.stop())
  await eventually(async () => (await admin.exists(keys.node('billing', 'web-1'))) === 1, 'the beat lands as the agent user')
  t.not(await admin.zscore(keys.serviceNodeIndex('billing'), 'web-1'), null, "the entry in its service's index too")
  t.equal(await admin.exists(keys.nodeIndex()), 0, 'nothing in the legacy shared index')
  t.same(
    errors.filter((e) => /NOPERM/.test(e.message)).map((e) => e.message),
    [],
    'no permission error on the way',
  )

  const asAgent = new Redis(userUrl('agent-billing'))
  t.teardown(() => asAgent.quit())
  await t.rejects(asAgent.set(keys.node('payments', 'web-1'), '{}'), /NOPERM/, "another service's node key")
  await t.rejects(asAgent.get(keys.node('payments', 'web-1')), /NOPERM/, "reading another service's beat")
  await t.rejects(asAgent.xrange(keys.commandStream('payments', 'web-1'), '-', '+'), /NOPERM/, "another service's command stream")
  await t.rejects(asAgent.set('gravito:quasar:history:node:billing:web-1', 'x'), /NOPERM/, "the console's keys")
  await t.rejects(asAgent.zadd(keys.serviceNodeIndex('payments'), Date.now(), 'ghost'), /NOPERM/, "another service's node index")
  await t.rejects(asAgent.set(keys.serviceNodeIndex('payments'), 'x'), /NOPERM/, "overwriting another service's node index")
  await t.rejects(asAgent.zadd(keys.nodeIndex(), 8e12, 'payments:ghost'), /NOPERM/, 'the legacy shared node index')
  await t.rejects(asAgent.set(keys.nodeIndex(), 'x'), /NOPERM/, 'overwriting the legacy shared node index')
  t.equal(await asAgent.zadd(keys.serviceNodeIndex('billing'), Date.now(), 'web-2'), 1, 'its own node index is writable')
  await t.rejects(asAgent.flushall(), /NOPERM/)
  await t.rejects(asAgent.keys('*'), /NOPERM/)
  await t.rejects(asAgent.publish(keys.commandChannel('billing', 'web-1'), 'x'), /NOPERM/, 'publishing commands')
  t.equal(await asAgent.xadd(keys.slow('billing'), 'MAXLEN', '~', '1000', '*', 'kind', 'request'), await asAgent.xrange(keys.slow('billing'), '-', '+').then((e) => e[0]?.[0]), 'its slow stream is writable')
})

t.test('the console works as the console user', async (t) => {
  await admin.set(keys.node('payments', 'p-1'), JSON.stringify(sampleHeartbeat({ timestamp: Date.now(), id: 'p-1', service: 'payments' })), 'EX', 60)
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: userUrl('zenith-console'), logLines })
  t.teardown(() => app.close())
  await eventually(async () => {
    await app.collector.refresh()
    const body = (await app.inject('/api/pulse/nodes')).json() as { services: { name: string }[] }
    return body.services.some((s) => s.name === 'payments') && body.services.some((s) => s.name === 'billing')
  }, 'the console sees every service')
  t.equal(app.collector.snapshot.redis.up, true)
  t.equal((await app.inject('/readyz')).statusCode, 200)
  // a few more ticks: history writes (scripts) and alert evaluation run as this user too
  for (let i = 0; i < 3; i++) await app.collector.refresh()
  t.equal((await app.inject('/pulse/billing/web-1')).statusCode, 200)
  t.same(
    logLines.filter((line) => /NOPERM/.test(line)),
    [],
    'no permission error in the logs',
  )

  const asConsole = new Redis(userUrl('zenith-console'))
  t.teardown(() => asConsole.quit())
  await t.rejects(asConsole.flushall(), /NOPERM/)
  await t.rejects(asConsole.keys('*'), /NOPERM/)
  await t.rejects(asConsole.set('unrelated:key', 'x'), /NOPERM/, 'nothing outside the prefix')
  t.equal(await asConsole.publish(keys.commandChannel('billing', 'web-1'), 'wake'), 0, 'may publish commands')
})

t.test('the admin user may do anything', async (t) => {
  const asAdmin = new Redis(userUrl('zenith-admin'))
  t.teardown(() => asAdmin.quit())
  t.equal(await asAdmin.set('unrelated:key', 'x'), 'OK')
  t.ok(Array.isArray(await asAdmin.keys('gravito:quasar:*')))
})
