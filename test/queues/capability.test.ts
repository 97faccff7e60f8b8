/**
 * What the console offers for each queue, from snapshots written into a real Redis: many queues,
 * every kind of declaration (none, empty, unknown types, duplicates, no node, node in the entry),
 * several drivers, the bullmq/laravel compatibility path, written in several orders. Dropped parts
 * of a declaration are reported as bad data, once per snapshot value.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { beat, keys, writeSnapshot } from './helpers.js'
import { agentQueueCapability, READ_ONLY_REASONS } from '../../server/queues/capability.js'
import { findQueue } from '../../server/queues/service.js'

const { server: redisServer, redis } = await useRedis(t)

const BOTH = ['RETRY_JOB', 'DELETE_JOB']
const metrics = { waiting: 1 }

interface Case {
  what: string
  service: string
  snapshotNode?: string
  entry: Record<string, unknown>
  /** a live node whose heartbeat lists the queue */
  owner?: string
  commands: string[]
  reason?: string
  nodeId?: string
}

const CASES: Case[] = [
  { what: 'other, RETRY_JOB declared', service: 'rq', snapshotNode: 'py-1', entry: { name: 'default', driver: 'other', commands: ['RETRY_JOB'] }, commands: ['RETRY_JOB'], nodeId: 'py-1' },
  {
    what: 'both declared, in any order, node named by the entry',
    service: 'celery',
    entry: { name: 'celery', driver: 'other', nodeId: 'worker-9', commands: ['DELETE_JOB', 'RETRY_JOB'] },
    commands: BOTH,
    nodeId: 'worker-9',
  },
  {
    what: 'the entry names another node than the snapshot',
    service: 'split',
    snapshotNode: 'aggregator',
    entry: { name: 'jobs', driver: 'sqs', nodeId: 'consumer-2', commands: ['RETRY_JOB'] },
    commands: ['RETRY_JOB'],
    nodeId: 'consumer-2',
  },
  {
    what: 'duplicates collapse, unknown types are dropped',
    service: 'lists',
    snapshotNode: 'n1',
    entry: { name: 'q', driver: 'redis-list', commands: ['RETRY_JOB', 'PAUSE_QUEUE', 'RETRY_JOB', 'retry_job'] },
    commands: ['RETRY_JOB'],
    nodeId: 'n1',
  },
  { what: 'only unknown types', service: 'future', snapshotNode: 'n1', entry: { name: 'q', driver: 'gravito-stream', commands: ['PAUSE_QUEUE'] }, commands: [], reason: READ_ONLY_REASONS.declaredNone },
  { what: 'declared empty (our SDK without a token)', service: 'sdk-no-token', snapshotNode: 'n1', entry: { name: 'emails', driver: 'bullmq', commands: [] }, commands: [], reason: READ_ONLY_REASONS.declaredNone },
  { what: 'bullmq with a node and no field: compatibility', service: 'old-bullmq', snapshotNode: 'n1', entry: { name: 'emails', driver: 'bullmq' }, commands: BOTH, nodeId: 'n1' },
  { what: 'laravel with a node and no field: compatibility', service: 'old-laravel', snapshotNode: 'n1', entry: { name: 'default', driver: 'laravel' }, commands: BOTH, nodeId: 'n1' },
  { what: 'bullmq whose node only a heartbeat names: compatibility', service: 'owned', owner: 'beater', entry: { name: 'emails', driver: 'bullmq' }, commands: BOTH, nodeId: 'beater' },
  { what: 'bullmq with no node at all', service: 'orphan', entry: { name: 'emails', driver: 'bullmq' }, commands: [], reason: READ_ONLY_REASONS.noNode },
  { what: 'a declaration with no node in the snapshot or the entry', service: 'nameless', owner: 'beater', entry: { name: 'q', driver: 'other', commands: ['RETRY_JOB'] }, commands: [], reason: READ_ONLY_REASONS.noNode },
  { what: 'other with a node and no field', service: 'silent', snapshotNode: 'n1', entry: { name: 'q', driver: 'other' }, commands: [], reason: READ_ONLY_REASONS.undeclared },
  { what: 'redis-list with a node and no field', service: 'plain-list', snapshotNode: 'n1', entry: { name: 'q', driver: 'redis-list' }, commands: [], reason: READ_ONLY_REASONS.undeclared },
  {
    what: 'laravel-horizon with a node and no field (not a compatibility driver)',
    service: 'horizon',
    snapshotNode: 'n1',
    entry: { name: 'q', driver: 'laravel-horizon' },
    commands: [],
    reason: READ_ONLY_REASONS.undeclared,
  },
]

/** the same cases in several orders, and a neighbour entry of another kind in each snapshot */
const ORDERS: [string, Case[]][] = [
  ['as listed', CASES],
  ['reversed', [...CASES].reverse()],
  ['interleaved', [...CASES.filter((_, n) => n % 2 === 1), ...CASES.filter((_, n) => n % 2 === 0)]],
]

for (const [order, cases] of ORDERS) {
  t.test(`every declaration gives the expected commands (${order})`, async (t) => {
    await redis.flushall()
    const clock = fakeClock()
    const logLines: string[] = []
    const app = await buildTestApp({ redisUrl: redisServer.url, clock, logLines })
    t.teardown(() => app.close())
    for (const c of cases) {
      const neighbour = { name: 'zz-neighbour', driver: 'bullmq', metrics, commands: ['DELETE_JOB'] }
      const entries = order === 'reversed' ? [neighbour, { ...c.entry, metrics }] : [{ ...c.entry, metrics }, neighbour]
      await writeSnapshot(redis, c.service, { timestamp: clock(), ...(c.snapshotNode ? { nodeId: c.snapshotNode } : {}), queues: entries })
      if (c.owner) await beat(redis, c.service, c.owner, clock(), [{ name: c.entry.name, driver: c.entry.driver, metrics }])
    }
    await app.collector.refresh()
    await app.collector.refresh()

    for (const c of cases) {
      const record = findQueue(app.collector.snapshot, c.service, c.entry.name as string)
      t.ok(record, `${c.what}: shown`)
      t.same(record?.commands, c.commands, `${c.what}: commands`)
      t.equal(record?.readOnlyReason, c.reason, `${c.what}: reason`)
      if (c.nodeId) t.equal(record?.nodeId, c.nodeId, `${c.what}: commands go to ${c.nodeId}`)
      const neighbour = findQueue(app.collector.snapshot, c.service, 'zz-neighbour')
      t.same(neighbour?.commands, c.snapshotNode ? ['DELETE_JOB'] : [], `${c.what}: the neighbour entry keeps its own declaration`)
    }

    const warnings = logLines.map((line) => JSON.parse(line) as { msg?: string; key?: string; reason?: string }).map((line) => JSON.stringify(line))
    const said = (service: string, text: string) => warnings.some((line) => line.includes(keys.queues(service)) && line.includes(text))
    t.ok(said('lists', 'unknown command types ignored: \\"PAUSE_QUEUE\\", \\"retry_job\\"'), 'unknown types are reported, once each; types are case-sensitive')
    t.ok(said('future', 'PAUSE_QUEUE'))
    t.ok(said('nameless', 'declared without a nodeId'), 'a declaration without a node is reported')
    t.notOk(said('rq', 'commands'), 'a valid declaration is not reported')

    // the same values read again: nothing reported twice
    const before = logLines.length
    clock.advance(2000)
    await app.collector.refresh()
    t.equal(logLines.length, before, 'an unchanged snapshot is not reported again')
  })
}

t.test('the rule itself, for every driver with and without a node', async (t) => {
  for (const driver of ['bullmq', 'laravel', 'redis-list', 'gravito-stream', 'laravel-horizon', 'sqs', 'other'] as const) {
    const compat = driver === 'bullmq' || driver === 'laravel'
    t.same(agentQueueCapability({ driver }, 'n', 'n'), compat ? { commands: BOTH, skips: [] } : { commands: [], readOnlyReason: READ_ONLY_REASONS.undeclared, skips: [] }, `${driver}, no field`)
    t.same(agentQueueCapability({ driver }, undefined, undefined).commands, [], `${driver}, no node`)
    t.same(agentQueueCapability({ driver, commands: ['DELETE_JOB'] }, 'n', 'n').commands, ['DELETE_JOB'], `${driver}, declared`)
    t.same(agentQueueCapability({ driver, commands: ['DELETE_JOB'] }, undefined, 'owner').commands, [], `${driver}, declared, node only from a heartbeat`)
  }
})
