/**
 * One hostile agent holding only the documented agent ACL for its own service (docs/security.md's
 * line, "billing" replaced by "hostile") does, one attack per test and then all at once, what took
 * the first slice down (issue 9): the node index overwritten with a string, 200,000 members scored
 * years ahead, 20 slow entries of 10 MB, a command answered with a stream where the result string
 * belongs, 30,000 bad keys, and timestamps far ahead, at 1e308 and in seconds.
 *
 * On every tick (./attack-harness.ts): the console stays ready with no part failing and Redis up;
 * every other service's nodes, queue counts and slow entries show this tick's data; the bytes Redis
 * sends per tick stay bounded. The damage stays the hostile service's: its own keys are skipped
 * and reported, its log lines bounded, its odd clocks flagged, and its nodes still leave.
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { TOKEN } from '../commands/signed.js'
import { expectBoundedLog, GRACE_MS, hostileNodes, runTicks, startScenario, TICK_MS, ticksUntil, type Scenario } from './attack-harness.js'
import { commandStatus, sendCommand, startPaymentsWorker } from './payments.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())

const SLOW_ENTRY_BYTES = 10 * 1024 * 1024

t.test('200,000 future-scored members in every index it may write', async (t) => {
  const s = await startScenario(t, redisServer)
  const reached = await s.hostile.ghostMembers(200_000, s.clock())
  t.not(reached.length, 0, `the members landed in ${reached.join(', ')}`)
  await runTicks(t, s, 5, 'ghost members')
  t.notOk(
    (await hostileNodes(s.app)).some((node) => String(node.id).startsWith('ghost-')),
    'no ghost is listed as a node',
  )
})

t.test('the node index overwritten with a string', async (t) => {
  const s = await startScenario(t, redisServer)
  const reached = await s.hostile.overwriteIndex()
  t.not(reached.length, 0, `overwrote ${reached.join(', ')}`)
  await runTicks(t, s, 4, 'index is a string')
  expectBoundedLog(t, s)
})

t.test('20 slow entries of 10 MB: bounded reads, and the cursor moves past them', async (t) => {
  const s = await startScenario(t, redisServer)
  t.not((await s.hostile.hugeSlowEntries(20, SLOW_ENTRY_BYTES, s.clock())).length, 0, 'the entries landed')
  await s.hostile.slowEntry('GET /after-the-huge-ones', s.clock())
  await runTicks(t, s, 5, '10 MB slow entries')
  const entries = ((await s.app.inject('/api/pulse/slow?service=hostile')).json().entries ?? []) as { name: string }[]
  t.ok(
    entries.some((entry) => entry.name === 'GET /after-the-huge-ones'),
    "the hostile service's next entry is read: its cursor moved on",
  )
  t.ok(
    entries.every((entry) => entry.name.length <= 256),
    'nothing of 10 MB reaches a viewer',
  )
})

t.test('a command answered with a stream where the result string belongs', async (t) => {
  const s = await startScenario(t, redisServer, { quasarToken: TOKEN })
  const payments = await startPaymentsWorker(t, s, redisServer.url)
  const hostileCommand = await sendCommand(t, s.app, { service: 'hostile', nodeId: 'h-1', queue: 'jobs', jobId: '7' })
  const reached = await s.hostile.answerCommandsWithStreams('h-1')
  t.not(reached.length, 0, `answered with a stream at ${reached.join(', ')}`)
  const paymentsCommand = await sendCommand(t, s.app, payments.target)
  // the SDK agent answers in real time, woken by pub/sub; the console reads its result on a tick
  await eventually(async () => {
    await s.app.collector.refresh()
    return (await commandStatus(s.app, paymentsCommand)) === 'ok'
  }, "payments' command is answered ok")
  await runTicks(t, s, 3, 'result key is a stream')
  t.equal(await commandStatus(s.app, paymentsCommand), 'ok', "another service's command finished")
  t.equal(await commandStatus(s.app, hostileCommand), 'pending', 'the command answered with a stream has no result')
  expectBoundedLog(t, s)
})

t.test('30,000 bad keys in its own namespace', async (t) => {
  const s = await startScenario(t, redisServer)
  t.equal(await s.hostile.badKeys(30_000), 30_000)
  await runTicks(t, s, 6, '30,000 bad keys')
  expectBoundedLog(t, s)
})

t.test('timestamps far ahead, at 1e308 and in seconds: flagged, and the nodes still leave', async (t) => {
  const s = await startScenario(t, redisServer)
  const ids = await s.hostile.badTimestamps(s.clock())
  const listed = async () => {
    const nodes = await hostileNodes(s.app)
    return ids.every((id) => nodes.some((node) => node.id === id))
  }
  t.ok(await ticksUntil(t, s, 'odd clocks', 8, listed), 'the odd nodes are found')
  const present = await hostileNodes(s.app)
  for (const id of ids) t.ok(present.find((node) => node.id === id)?.clockNote, `${id} is listed, its timestamp flagged`)
  t.notOk(present.find((node) => node.id === 'h-1')?.clockNote, 'a plausible timestamp is not flagged')

  // the keys expire (the agent rewrites them with a 1 ms expiry: its ACL has no DEL)
  await s.hostile.badTimestamps(s.clock(), 1)
  await eventually(async () => (await s.admin.exists(...ids.map((id) => `gravito:quasar:node:hostile:${id}`))) === 0, 'the odd nodes expired')
  await runTicks(t, s, 1, 'keys gone')
  const goneSeenAt = s.clock()
  const dead = await hostileNodes(s.app)
  t.same(
    ids.map((id) => dead.find((node) => node.id === id)?.health),
    ids.map(() => 'dead'),
    'listed as dead for the grace period, whatever their timestamps say',
  )
  // gone by the console's clock: the grace after the key was seen missing (30 s of slack on top)
  const ticks = Math.ceil((30_000 + GRACE_MS) / TICK_MS) + 1
  await runTicks(t, s, ticks, 'grace period')
  t.ok(s.clock() > goneSeenAt + 30_000 + GRACE_MS)
  const left = (await hostileNodes(s.app)).map((node) => node.id)
  t.same(
    ids.filter((id) => left.includes(id)),
    [],
    'every odd node has left',
  )
})

t.test('everything at once', async (t) => {
  const s: Scenario = await startScenario(t, redisServer, { quasarToken: TOKEN })
  const hostileCommand = await sendCommand(t, s.app, { service: 'hostile', nodeId: 'h-1', queue: 'jobs', jobId: '7' })
  await s.hostile.ghostMembers(200_000, s.clock())
  await s.hostile.hugeSlowEntries(20, SLOW_ENTRY_BYTES, s.clock())
  await s.hostile.badKeys(30_000)
  await s.hostile.badTimestamps(s.clock())
  t.not((await s.hostile.answerCommandsWithStreams('h-1')).length, 0, 'the command was answered with a stream')
  await runTicks(t, s, 5, 'all attacks')
  await s.hostile.overwriteIndex()
  await runTicks(t, s, 3, 'all attacks, index a string')
  t.equal(await commandStatus(s.app, hostileCommand), 'pending')
  expectBoundedLog(t, s)
})
