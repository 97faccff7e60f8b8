/**
 * The commands collector reading what agents answered. Many pending commands across services and
 * nodes, sent in several orders, answered in every way an agent can answer: at the per-service key,
 * by an older agent at the legacy shared key, with a stream or a hash where a string should be,
 * too long, not JSON, naming another node, or by another service's agent. One tick reads them all:
 * each command ends as it should, each bad answer is logged against its own command only, and the
 * tick never fails. Past the expiry every unanswered command is closed as expired.
 */
import t from 'tap'
import { COMMAND_TTL_MS, MAX_COMMAND_RESULT_BYTES, signCommand, type CommandResult } from '@gravito/quasar/protocol'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { createCommandStore } from '../../server/commands/store.js'
import { createCommandsCollector, EXPIRY_GRACE_MS, type CommandsPart } from '../../server/commands/collector-part.js'
import type { SentCommand } from '../../server/commands/schemas.js'
import type { Snapshot } from '../../server/collector/snapshot.js'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { newCommandId, TOKEN } from './signed.js'
import { shuffled } from '../helpers/shuffle.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createConsoleKeys('gravito:quasar:')

const SERVICES = ['billing', 'payments', 'search', 'mail']
const NODES = ['web-1', 'web-2']
const START = Date.UTC(2026, 10, 23, 12, 0, 0)

type Status = 'pending' | CommandResult['status'] | 'expired'

/** How an agent answers; what the console then shows after one tick and after the expiry; what it logs. */
interface Answer {
  name: string
  write(command: SentCommand): Promise<unknown>
  firstTick: Status
  afterExpiry: Status
  logged: RegExp | null
}

function resultJson(command: SentCommand, fields: Partial<CommandResult> = {}): string {
  return JSON.stringify({ id: command.id, status: 'ok', service: command.service, nodeId: command.nodeId, finishedAt: command.sentAt + 500, ...fields })
}
const current = (command: SentCommand) => keys.commandResult(command.service, command.id)
const legacy = (command: SentCommand) => keys.legacyCommandResult(command.id)
const otherService = (service: string) => SERVICES[(SERVICES.indexOf(service) + 1) % SERVICES.length]!

const ANSWERS: Answer[] = [
  { name: 'ok', write: (c) => redis.set(current(c), resultJson(c)), firstTick: 'ok', afterExpiry: 'ok', logged: null },
  { name: 'failed with a reason', write: (c) => redis.set(current(c), resultJson(c, { status: 'failed', reason: 'job is gone' })), firstTick: 'failed', afterExpiry: 'failed', logged: null },
  { name: 'rejected', write: (c) => redis.set(current(c), resultJson(c, { status: 'rejected', reason: 'bad signature' })), firstTick: 'rejected', afterExpiry: 'rejected', logged: null },
  { name: 'an older agent at the legacy key', write: (c) => redis.set(legacy(c), resultJson(c)), firstTick: 'ok', afterExpiry: 'ok', logged: null },
  { name: 'nothing yet', write: async () => {}, firstTick: 'pending', afterExpiry: 'expired', logged: null },
  { name: 'a stream at its result key', write: (c) => redis.xadd(current(c), '*', 'status', 'ok'), firstTick: 'pending', afterExpiry: 'expired', logged: /another Redis type/ },
  { name: 'a hash at the legacy key', write: (c) => redis.hset(legacy(c), 'status', 'ok'), firstTick: 'pending', afterExpiry: 'expired', logged: /another Redis type/ },
  {
    name: 'a stream at its key, a good legacy result',
    write: (c) => Promise.all([redis.xadd(current(c), '*', 'status', 'ok'), redis.set(legacy(c), resultJson(c, { status: 'failed', reason: 'old agent' }))]),
    firstTick: 'failed',
    afterExpiry: 'failed',
    logged: /another Redis type/,
  },
  {
    name: 'a value over the size bound',
    write: (c) => redis.set(current(c), resultJson(c, { reason: 'x'.repeat(2 * MAX_COMMAND_RESULT_BYTES) })),
    firstTick: 'pending',
    afterExpiry: 'expired',
    logged: /longer than 4096 bytes/,
  },
  // 1,400 three-byte characters: within the bound in UTF-16 units, over it in bytes
  { name: 'multibyte text over the bound', write: (c) => redis.set(current(c), resultJson(c, { reason: '€'.repeat(1_400) })), firstTick: 'pending', afterExpiry: 'expired', logged: /longer than 4096 bytes/ },
  { name: 'not JSON', write: (c) => redis.set(current(c), '{"id": '), firstTick: 'pending', afterExpiry: 'expired', logged: /does not match/ },
  { name: 'a result naming another node', write: (c) => redis.set(current(c), resultJson(c, { nodeId: 'web-9' })), firstTick: 'pending', afterExpiry: 'expired', logged: /does not match/ },
  { name: 'a result for another command id', write: (c) => redis.set(current(c), resultJson(c, { id: newCommandId() })), firstTick: 'pending', afterExpiry: 'expired', logged: /does not match/ },
  {
    name: "another service's agent at the legacy key",
    write: (c) => redis.set(legacy(c), resultJson(c, { service: otherService(c.service), nodeId: 'intruder-1' })),
    firstTick: 'pending',
    afterExpiry: 'expired',
    logged: /does not match/,
  },
  {
    name: "another service's agent at its own service's key",
    write: (c) => redis.set(keys.commandResult(otherService(c.service), c.id), resultJson(c, { service: otherService(c.service) })),
    firstTick: 'pending',
    afterExpiry: 'expired',
    logged: null,
  },
]

interface Case {
  answer: Answer
  command: SentCommand
}

function makeCases(): Case[] {
  const cases: Case[] = []
  for (const service of SERVICES) {
    for (const [n, answer] of ANSWERS.entries()) {
      const id = newCommandId()
      const command: SentCommand = { id, type: 'RETRY_JOB', service, nodeId: NODES[n % NODES.length]!, queue: 'emails', jobId: `${n}`, sentBy: 'olivia', sentAt: START, expiresAt: START + COMMAND_TTL_MS }
      cases.push({ answer, command })
    }
  }
  return cases
}

const ORDERS: [string, (cases: Case[]) => Case[]][] = [
  ['by service', (cases) => cases],
  ['reversed', (cases) => [...cases].reverse()],
  ['shuffled (seed 7)', (cases) => shuffled(cases, 7)],
  ['shuffled (seed 2026)', (cases) => shuffled(cases, 2026)],
]

for (const [orderName, order] of ORDERS) {
  t.test(`${SERVICES.length * ANSWERS.length} pending commands answered every way, sent ${orderName}`, async (t) => {
    await redis.flushall()
    const cases = order(makeCases())
    // sent one ms apart in this order: the collector reads them oldest first
    cases.forEach(({ command }, i) => Object.assign(command, { sentAt: START + i, expiresAt: START + i + COMMAND_TTL_MS }))
    const store = createCommandStore(redis, keys)
    await store.send(
      cases.map(({ command }) => ({
        sent: command,
        signed: signCommand(
          { v: 1, id: command.id, type: command.type, service: command.service, nodeId: command.nodeId, queue: command.queue, jobId: command.jobId, issuedAt: command.sentAt, expiresAt: command.expiresAt },
          TOKEN,
        ),
      })),
    )
    for (const { answer, command } of shuffled(cases, 99)) await answer.write(command)

    const logged: { key: string; reason: string }[] = []
    const part = createCommandsCollector(store, { report: (key, reason) => void logged.push({ key, reason }) })
    const collect = async (now: number): Promise<CommandsPart> => {
      const read = await part.collect(now, undefined as unknown as Snapshot)
      if (!read) throw new Error('the commands part read nothing')
      return read
    }

    const first = await collect(START + 60_000)
    for (const { answer, command } of cases) t.equal(first.byId.get(command.id)?.status, answer.firstTick, `${command.service}: ${answer.name}`)
    t.equal(first.pendingCount, cases.filter(({ answer }) => answer.firstTick === 'pending').length)
    for (const { answer, command } of cases) {
      const mine = logged.filter(({ key }) => key.includes(command.id))
      if (answer.logged) {
        t.equal(mine.length, 1, `${command.service}: ${answer.name} is logged once`)
        t.match(mine[0]?.reason, answer.logged)
      } else {
        t.same(mine, [], `${command.service}: ${answer.name} is not logged`)
      }
    }
    const answeredFailed = cases.find(({ answer }) => answer.name === 'failed with a reason')!
    t.match(first.byId.get(answeredFailed.command.id), { status: 'failed', reason: 'job is gone', finishedAt: answeredFailed.command.sentAt + 500 })

    const last = await collect(START + cases.length + COMMAND_TTL_MS + EXPIRY_GRACE_MS + 1)
    for (const { answer, command } of cases) t.equal(last.byId.get(command.id)?.status, answer.afterExpiry, `${command.service}: ${answer.name}, after the expiry`)
    t.equal(last.pendingCount, 0)
    t.same(await redis.hgetall(keys.auditPending()), {}, 'nothing left pending in Redis')
  })
}

t.test('in the running console: a stream at a result key fails no tick and only its command expires', async (t) => {
  await redis.flushall()
  const clock = fakeClock(START)
  const logLines: string[] = []
  const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines, quasarToken: TOKEN })
  t.teardown(() => app.close())
  const store = createCommandStore(redis, keys)
  const [hostile, answered] = ['payments', 'billing'].map((service): SentCommand => ({
    id: newCommandId(),
    type: 'DELETE_JOB',
    service,
    nodeId: 'web-1',
    queue: 'emails',
    jobId: '1',
    sentBy: 'olivia',
    sentAt: START,
    expiresAt: START + COMMAND_TTL_MS,
  }))
  await store.send(
    [hostile!, answered!].map((sent) => ({
      sent,
      signed: signCommand({ v: 1, id: sent.id, type: sent.type, service: sent.service, nodeId: sent.nodeId, queue: sent.queue, jobId: sent.jobId, issuedAt: sent.sentAt, expiresAt: sent.expiresAt }, TOKEN),
    })),
  )
  await redis.xadd(current(hostile!), '*', 'status', 'ok')
  await redis.set(current(answered!), resultJson(answered!))

  const warnings = () => logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'skipped bad agent data')
  t.equal((await app.collector.refresh()).redis.up, true, 'the tick went through')
  t.equal((await app.inject('/readyz')).statusCode, 200)
  t.equal(warnings().length, 1, 'the bad key is logged')
  t.equal((await app.inject(`/api/pulse/command/${answered!.id}`)).json().status, 'ok')
  t.equal((await app.inject(`/api/pulse/command/${hostile!.id}`)).json().status, 'pending')
  clock.advance(COMMAND_TTL_MS + EXPIRY_GRACE_MS + 1)
  t.equal((await app.collector.refresh()).redis.up, true)
  t.match((await app.inject(`/api/pulse/command/${hostile!.id}`)).json(), { status: 'expired', reason: /no result/ })
  for (const warning of warnings()) t.match(warning, { key: new RegExp(hostile!.id), reason: /another Redis type/ }, 'every warning is about that one command')
})
