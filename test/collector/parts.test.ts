/**
 * The collector's parts fail on their own: a part that throws or hangs keeps its last data with
 * its age, the others go on, and only an unanswered probe is "Redis unreachable".
 */
import t from 'tap'
import { Collector } from '../../server/collector/collector.js'
import type { CollectorPart, Snapshot } from '../../server/collector/snapshot.js'

interface LogLine {
  level: 'warn' | 'info' | 'error'
  fields: Record<string, unknown>
  msg: string
}

function recordingLog(lines: LogLine[]) {
  const at = (level: LogLine['level']) => (fields: Record<string, unknown>, msg?: string) => void lines.push({ level, fields: typeof fields === 'string' ? {} : fields, msg: msg ?? String(fields) })
  return { warn: at('warn'), info: at('info'), error: at('error'), child: () => recordingLog(lines) } as never
}

/** A part under the test's control: answers its counter, throws, or hangs until released. */
function controlledPart(key: string) {
  let mode: 'answer' | 'throw' | 'hang' = 'answer'
  let reads = 0
  let started = 0
  let release: (() => void) | null = null
  const part = {
    key,
    initial: -1,
    async collect() {
      started++
      if (mode === 'throw') throw new TypeError('fields is not iterable <script>alert(1)</script>')
      if (mode === 'hang') await new Promise<void>((resolve) => (release = resolve))
      return ++reads
    },
  }
  return {
    part: part as unknown as CollectorPart,
    set: (next: typeof mode) => (mode = next),
    release: () => release?.(),
    get started() {
      return started
    },
  }
}

function setup(options: { probe?: () => Promise<unknown>; partTimeoutMs?: number } = {}) {
  let now = Date.UTC(2026, 11, 1, 12)
  const lines: LogLine[] = []
  const collector = new Collector({
    clock: () => now,
    log: recordingLog(lines),
    tickMs: 2_000,
    probe: options.probe ?? (async () => 'PONG'),
    partTimeoutMs: options.partTimeoutMs ?? 10_000,
  })
  const nodes = controlledPart('nodes')
  const queues = controlledPart('queues')
  collector.addPart(nodes.part)
  collector.addPart(queues.part)
  const tick = async (advance = 2_000) => {
    now += advance
    return (await collector.refresh()) as Snapshot & Record<string, unknown>
  }
  return { collector, nodes, queues, tick, lines, now: () => now }
}

t.test('a part that throws keeps its last data and its age; the others go on; Redis stays up', async (t) => {
  const { nodes, queues, tick, lines } = setup()
  const first = await tick()
  t.equal(first.queues, 1)
  const readAt = first.parts.queues!.readAt

  queues.set('throw')
  for (let i = 0; i < 3; i++) await tick()
  const snapshot = await tick()
  t.equal(snapshot.redis.up, true, 'a part bug is not an outage')
  t.equal(snapshot.redis.downSince, null)
  t.equal(snapshot.nodes, 5, 'the healthy part read on every tick')
  t.equal(snapshot.queues, 1, 'the failing part keeps its last good data')
  t.equal(snapshot.parts.queues!.ok, false)
  t.equal(snapshot.parts.queues!.failures, 4)
  t.equal(snapshot.parts.queues!.readAt, readAt, 'the data is dated when it was read')
  t.equal(snapshot.parts.queues!.reason, 'failed')
  t.notMatch(JSON.stringify(snapshot.parts), /iterable|script/, 'no exception text in the snapshot')
  t.equal(snapshot.parts.nodes!.ok, true)

  const logged = lines.filter((line) => line.fields.part === 'queues' && line.level === 'warn')
  t.equal(logged.length, 1, 'a part failing every tick logs once a minute, not every tick')
  t.equal(logged[0]!.fields.errorId, snapshot.parts.queues!.errorId, 'the status points at the log line')
  t.match(String((logged[0]!.fields.err as Error).message), /iterable/, 'the error itself is in the log')

  queues.set('answer')
  const recovered = await tick()
  t.equal(recovered.queues, 2)
  t.same(recovered.parts.queues, { ok: true, failures: 0, readAt: recovered.generatedAt, reason: null, errorId: null })
  t.ok(lines.some((line) => line.msg === 'collector part recovered' && line.fields.failures === 4))
  t.equal(nodes.started, 6)
})

t.test('a part that hangs is cut off at the timeout, not started twice, and its late answer is taken', async (t) => {
  const { queues, tick } = setup({ partTimeoutMs: 20 })
  await tick()
  queues.set('hang')
  const cut = await tick()
  t.equal(cut.nodes, 2, 'the tick finished without the hanging part')
  t.equal(cut.parts.queues!.reason, 'did not answer in time')
  const startedAt = cut.generatedAt
  await tick()
  t.equal(queues.started, 2, 'the hanging attempt is waited for, not joined by a second one')

  queues.set('answer')
  queues.release()
  const late = await tick()
  t.equal(late.queues, 2, 'the late answer is the part data now')
  t.equal(late.parts.queues!.ok, true)
  t.equal(late.parts.queues!.readAt, startedAt, 'dated when the attempt began, not when it ended')
  t.equal(queues.started, 2)
})

t.test('an unanswered probe is an outage: parts keep their status, data from parts that did answer is kept', async (t) => {
  let up = true
  const { queues, tick } = setup({ probe: async () => (up ? 'PONG' : Promise.reject(new Error('connect ECONNREFUSED'))) })
  await tick()
  up = false
  queues.set('throw')
  const down = await tick()
  t.equal(down.redis.up, false)
  t.equal(down.redis.downSince, down.generatedAt)
  t.equal(down.parts.queues!.ok, true, 'a failure during the outage is the outage, not the part')
  t.equal(down.parts.queues!.failures, 0)
  const later = await tick()
  t.equal(later.redis.downSince, down.generatedAt, 'the outage keeps its start')
  up = true
  const back = await tick()
  t.equal(back.redis.up, true)
  t.equal(back.parts.queues!.failures, 1, 'with Redis answering, the part failure counts')
})

t.test('a probe that never settles is cut off at the timeout and counts as unreachable', async (t) => {
  const { tick } = setup({ probe: () => new Promise(() => {}), partTimeoutMs: 20 })
  const snapshot = await tick()
  t.equal(snapshot.redis.up, false)
  t.equal(snapshot.nodes, 1, 'parts that answered are still taken')
})
