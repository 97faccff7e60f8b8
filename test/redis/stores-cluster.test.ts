/**
 * Each area's store on a real 3-master Cluster, as the collector parts use it: many keys of many
 * services, spread over every master, read and written in several orders. A store that sent one
 * pipeline (or one MGET) across slots is refused with CROSSSLOT there; a walk that scanned one
 * connection sees a third of the queues. On a single Redis the same stores send what they always
 * did (their own tests cover that). On Redis and on Valkey alike.
 */
import t, { type Test } from 'tap'
import calculateSlot from 'cluster-key-slot'
import { signCommand } from '@gravito/quasar/protocol'
import { createConsoleKeys } from '../../server/redis/keys.js'
import { createNodeReader, type RawValue } from '../../server/nodes/store.js'
import { createQueueStore } from '../../server/queues/store.js'
import { createCommandStore } from '../../server/commands/store.js'
import { createHistoryStore } from '../../server/history/store.js'
import { encodeSample } from '../../server/history/encoding.js'
import { RAW } from '../../server/history/metrics.js'
import { createSlowStore } from '../../server/slow/store.js'
import { parseStreamRead } from '../../server/slow/stream-read.js'
import type { SentCommand } from '../../server/commands/schemas.js'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { ENGINES, type RedisEngine } from '../helpers/redis-server.js'
import { laravelPayload } from '../queues/helpers.js'
import { TOKEN } from '../commands/signed.js'

const keys = createConsoleKeys('gravito:quasar:')
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0)

const SERVICES = Array.from({ length: 30 }, (_, i) => `svc-${i}`)

const ORDERS: [string, <T>(items: readonly T[]) => T[]][] = [
  ['in order', (items) => [...items]],
  ['reversed', (items) => [...items].reverse()],
  ['shuffled', (items) => shuffled(items, 12)],
]

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items]
  let state = seed
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31
    const j = state % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** the cases below mean something only if their keys span slots: a single-slot set passes anywhere */
function spansSlots(t: Test, someKeys: readonly string[]): void {
  t.ok(new Set(someKeys.map((key) => calculateSlot(key))).size > 1, `${someKeys.length} keys over several slots`)
}

for (const engine of ENGINES) t.test(`on ${engine}`, (t) => suite(t, engine))

async function suite(t: Test, engine: RedisEngine): Promise<void> {
  const cluster = await startRedisCluster(3, { engine })
  t.teardown(() => cluster.stop())
  const client = cluster.connect()
  t.teardown(() => client.quit())

  t.test('node heartbeats: MGET per slot, with squatters, oversized values and gaps', async (t) => {
    const nodeKeys = SERVICES.flatMap((service) => ['n1', 'n2'].map((node) => keys.node(service, node)))
    spansSlots(t, nodeKeys)
    const expected = new Map<string, RawValue['status']>()
    for (const [i, key] of nodeKeys.entries()) {
      if (i % 10 === 3) {
        await client.hset(key, 'f', 'v')
        expected.set(key, 'wrong-type')
      } else if (i % 10 === 7) expected.set(key, 'missing')
      else if (i % 10 === 9) {
        await client.set(key, 'x'.repeat(300))
        expected.set(key, 'too-large')
      } else {
        await client.set(key, JSON.stringify({ key }))
        expected.set(key, 'ok')
      }
    }
    const read = createNodeReader(client, 200)
    // twice per order: the second read watches the oversized keys with STRLEN instead of MGET
    for (const [name, order] of ORDERS) {
      for (const pass of [1, 2]) {
        const values = await read(order(nodeKeys))
        t.same(new Map(values.map((value) => [value.key, value.status])), expected, `${name}, read ${pass}: every key as written`)
        for (const value of values) if (value.status === 'ok') t.equal(value.raw, JSON.stringify({ key: value.key }))
      }
    }
  })

  t.test('queues: discovery walks every master, snapshots and driver reads per slot', async (t) => {
    const queueNames = Array.from({ length: 24 }, (_, i) => `jobs-${i}`)
    for (const [i, queue] of queueNames.entries()) {
      // Laravel's default layout, no prefix: `queues:{queue}`, one waiting job per index + 1
      for (let job = 0; job <= i % 4; job++) await client.rpush(`queues:${queue}`, laravelPayload(`${queue}-${job}`, NOW / 1000 - 60))
    }
    for (const [i, service] of SERVICES.entries()) {
      await client.set(keys.queues(service), JSON.stringify({ service, timestamp: NOW, queues: [{ name: `q-${i}`, driver: 'bullmq', metrics: { waiting: i, active: 0, delayed: 0, failed: 0 } }] }))
    }
    spansSlots(
      t,
      queueNames.map((queue) => `queues:${queue}`),
    )
    const reports: string[] = []
    const store = createQueueStore(client, keys, { report: (key) => void reports.push(key) }, { stepsPerTick: 1_000 })
    await store.discovery.step(NOW)
    const refs = store.discovery.refs()
    t.same(refs.map((ref) => ref.queue).sort(), [...queueNames].sort(), 'every Laravel queue, whichever master holds it')
    t.same([...store.discovery.services()].sort(), [...SERVICES].sort(), 'every service that wrote a snapshot')
    for (const [name, order] of ORDERS) {
      const snapshots = await store.readSnapshots(order(SERVICES))
      t.same([...snapshots.keys()].sort(), [...SERVICES].sort(), `${name}: every snapshot read`)
      for (const [i, service] of SERVICES.entries()) t.equal(snapshots.get(service)?.queues[0]?.metrics?.waiting, i, `${name}: ${service}'s own snapshot`)
      const readings = (await store.readDiscovered(order(refs), NOW)).flatMap((reading) => [...reading])
      t.equal(readings.length, queueNames.length, `${name}: every found queue counted`)
      for (const [ref, counts] of readings) t.equal(counts.waiting, (queueNames.indexOf(ref.queue) % 4) + 1, `${name}: ${ref.queue}'s own count`)
    }
    t.same(reports, [], 'nothing reported')
  })

  t.test('commands: sent to many nodes, answered, finished, each in its own slot', async (t) => {
    const store = createCommandStore(client, keys)
    const commands: SentCommand[] = SERVICES.map((service, i) => ({
      id: `cmd-${String(i).padStart(4, '0')}-aaaaaaaaaaaa`,
      type: 'RETRY_JOB',
      service,
      nodeId: `n${i % 3}`,
      queue: 'emails',
      jobId: `job-${i}`,
      sentBy: 'admin',
      sentAt: NOW + i,
      expiresAt: NOW + 60_000,
    }))
    spansSlots(
      t,
      commands.map((command) => keys.commandStream(command.service, command.nodeId)),
    )
    const signed = (sent: SentCommand) =>
      signCommand({ v: 1, id: sent.id, type: sent.type, service: sent.service, nodeId: sent.nodeId, queue: sent.queue, jobId: sent.jobId, issuedAt: sent.sentAt, expiresAt: sent.expiresAt }, TOKEN)
    await store.send(shuffled(commands, 5).map((sent) => ({ sent, signed: signed(sent) })))
    for (const command of commands) {
      const entries = await client.xrange(keys.commandStream(command.service, command.nodeId), '-', '+')
      t.ok(
        entries.some(([, fields]) => fields.join(' ').includes(command.id)),
        `${command.id} is on its node's stream`,
      )
    }
    t.same(Object.keys(await store.readPending()).sort(), commands.map((command) => command.id).sort(), 'every command pending')

    // a third answer at their key, a third at the legacy key, a third not yet
    const answer = (command: SentCommand) => JSON.stringify({ id: command.id, status: 'ok', service: command.service, nodeId: command.nodeId, finishedAt: NOW + 500 })
    for (const [i, command] of commands.entries()) {
      if (i % 3 === 0) await client.set(keys.commandResult(command.service, command.id), answer(command))
      if (i % 3 === 1) await client.set(keys.legacyCommandResult(command.id), answer(command))
    }
    for (const [name, order] of ORDERS) {
      const reads = await store.readResults(order(commands))
      t.equal(reads.length, commands.length)
      for (const { command, current, legacy } of reads) {
        const i = commands.indexOf(command)
        t.same([current.state, legacy.state], [i % 3 === 0 ? 'value' : 'none', i % 3 === 1 ? 'value' : 'none'], `${name}: ${command.id}'s answer where it was written`)
      }
    }
    const recorded = await store.finish(
      commands.map((command) => ({ ...command, status: 'ok', finishedAt: NOW + 1_000 })),
      NOW + 1_000,
    )
    t.same(recorded.sort(), commands.map((command) => command.id).sort(), 'every command moved to the audit log once')
    t.same(await store.readPending(), {}, 'nothing left pending')
    t.equal((await store.readLatest(100)).length, commands.length)
  })

  t.test('history: many series written and read back, each in its own slot', async (t) => {
    const store = createHistoryStore(client, keys)
    const series = SERVICES.map((service, i) => ({ kind: 'node' as const, service, id: `n${i % 3}` }))
    spansSlots(
      t,
      series.map((ref) => keys.nodeHistory(ref.service, ref.id, RAW.name, 0)),
    )
    const buckets = [0, 1, 2].map((i) => NOW - (2 - i) * RAW.bucketMs)
    const writes = buckets.flatMap((bucket, b) => series.map((ref, i) => ({ ...ref, bucket, value: encodeSample('node', [i, b, 50, 1_000, 2]) })))
    const { written } = await store.sync(shuffled(writes, 3), [], NOW, 0)
    t.equal(written, writes.length, 'every sample written')
    const { fills } = await store.sync([], series, NOW, 3)
    t.same(
      fills.map((fill) => fill.map((bucket) => bucket.t)),
      series.map(() => buckets),
      'each series filled with its own three buckets',
    )
    for (const [i, ref] of series.entries()) {
      const read = await store.read(ref, RAW, NOW - 60_000, NOW)
      t.same(
        read.map((bucket) => bucket.value),
        [0, 1, 2].map((b) => encodeSample('node', [i, b, 50, 1_000, 2])),
        `${ref.service}/${ref.id} reads its own samples`,
      )
    }
  })

  t.test('slow streams: one read per service, grouped by slot', async (t) => {
    spansSlots(
      t,
      SERVICES.map((service) => keys.slow(service)),
    )
    for (const [i, service] of SERVICES.entries()) {
      for (let entry = 0; entry <= i % 3; entry++) await client.xadd(keys.slow(service), '*', 'kind', 'request', 'name', `${service}-${entry}`)
    }
    await client.hset(keys.slow('squatter'), 'f', 'v')
    const store = createSlowStore(client, keys, { report: () => {} })
    const bounds = { count: 10, callBytes: 64 * 1024, valueBytes: 1024, nameBytes: 64, maxFields: 16, rawBytes: 1024 * 1024 }
    for (const [name, order] of ORDERS) {
      const requests = order([...SERVICES, 'squatter']).map((service) => ({ service, cursor: { after: null, before: '+' } }))
      const reads = await store.readStreams(requests, bounds)
      t.same(
        reads.map((read) => read.service),
        requests.map((request) => request.service),
        `${name}: each reply beside its request`,
      )
      for (const read of reads) {
        if (read.service === 'squatter') {
          t.match(read.reply, { ok: false, error: { message: /WRONGTYPE|hash/ } }, `${name}: the squatter's error stays in its own reply`)
          continue
        }
        const parsed = read.reply.ok ? parseStreamRead(read.reply.value) : null
        t.equal(parsed?.older.length, (SERVICES.indexOf(read.service) % 3) + 1, `${name}: ${read.service}'s own entries`)
      }
    }
  })
}
