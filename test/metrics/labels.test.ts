/**
 * Label values come from agents. Hostile queue names (quotes, backslashes, unicode, names past the
 * length bound) reach Prometheus escaped, cut on a code point, and still one series each; a fleet
 * past the label bounds is folded into "(other)" with its totals kept.
 */
import t from 'tap'
import { Queue } from 'bullmq'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { writeBeats } from '../alerts/fixtures.js'
import { queueRecordsOf } from '../../server/queues/records.js'
import { labelValue, MAX_LABEL_CHARS, MAX_QUEUES, MAX_SERVICES, OTHER } from '../../server/metrics/labels.js'
import { parseExposition, samplesOf, valueOf } from './exposition.js'

const { server, redis } = await useRedis(t)

const LONG_HEAD = 'ночная-выгрузка-отчётов-'.repeat(6)
const HOSTILE = [
  'say "hi"',
  'back\\slash\\',
  '\\"} evil{x="1',
  'emails 🚀 launch',
  '名前-キュー',
  'e\u0301t\u00e9 \u202eRTL',
  'zenith_nodes{service="x"} 1',
  // past the label bound, and two that share the first hundred characters
  `${LONG_HEAD}🚀🚀🚀-a`,
  `${LONG_HEAD}🚀🚀🚀-b`,
  '😀'.repeat(120),
]

t.test('hostile queue names: escaped, cut on a code point, one series each, equal to the snapshot', async (t) => {
  await redis.flushall()
  const app = await buildTestApp({ redisUrl: server.url })
  t.teardown(() => app.close())
  const queues = HOSTILE.map((name) => new Queue(name, { connection: { url: server.url } }))
  t.teardown(() => Promise.all(queues.map((queue) => queue.close())))
  // each queue its own number of waiting jobs, added in a shuffled order
  const random = seededRandom(5)
  for (const [i, queue] of shuffled([...queues.entries()], random)) await queue.addBulk(Array.from({ length: i + 1 }, (_, n) => ({ name: 'job', data: { n } })))

  await eventually(async () => {
    await app.collector.refresh()
    return HOSTILE.every((name) => queueRecordsOf(app.collector.snapshot).some((record) => record.name === name))
  }, 'every hostile queue is found')

  const body = (await app.inject({ url: '/metrics' })).body
  t.ok(Buffer.from(body, 'utf8').toString('utf8') === body && !body.includes('\uFFFD'), 'valid UTF-8 throughout: no half surrogate pair')
  const families = parseExposition(body)
  const waiting = samplesOf(families, 'zenith_queue_jobs').filter((sample) => sample.labels.state === 'waiting' && sample.labels.service === 'bull')
  t.equal(waiting.length, HOSTILE.length, 'one series per queue: the long names with one head stay apart')
  HOSTILE.forEach((name, i) => {
    const label = labelValue(name)
    t.equal(valueOf(families, 'zenith_queue_jobs', { service: 'bull', queue: label, state: 'waiting' }), i + 1, JSON.stringify(name))
    t.ok(Array.from(label).length <= MAX_LABEL_CHARS, `${JSON.stringify(name)}: at most ${MAX_LABEL_CHARS} characters`)
    if (Array.from(name).length <= MAX_LABEL_CHARS) t.equal(label, name, `${JSON.stringify(name)} is kept as it is`)
    else t.match(label, /~[0-9a-f]{8}$/, `${JSON.stringify(name)} is cut and marked with its hash`)
  })
  t.ok(body.includes('queue="say \\"hi\\""'), 'quotes escaped')
  t.ok(body.includes('queue="back\\\\slash\\\\"'), 'backslashes escaped')
  t.ok(body.includes('queue="\\\\\\"} evil{x=\\"1"'), 'a name that tries to close the label set stays inside its value')
  t.notOk(/^zenith_nodes\{service="x"\}/m.test(body), 'a name that looks like a sample line is not one')
})

t.test('label values: controls replaced and hashed, cuts never split a surrogate pair', async (t) => {
  for (const text of ['line\nbreak', 'tab\there', 'nul\u0000', 'c1\u0085']) {
    const label = labelValue(text)
    // eslint-disable-next-line no-control-regex -- the controls are what must not be there
    t.notMatch(label, /[\u0000-\u001f\u007f-\u009f]/, JSON.stringify(text))
    t.match(label, /\uFFFD.*~[0-9a-f]{8}$/, `${JSON.stringify(text)}: marked`)
  }
  t.not(labelValue('a\nb'), labelValue('a\rb'), 'two names with different controls stay two')
  for (let pad = 0; pad < 4; pad++) {
    const label = labelValue('x'.repeat(pad) + '𝄞'.repeat(200))
    t.notOk(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(label), `pad ${pad}: no lone surrogate`)
    t.equal(Array.from(label).length, MAX_LABEL_CHARS)
  }
})

t.test(`past ${MAX_SERVICES} services and ${MAX_QUEUES} queues: the rest fold into ${OTHER}, totals kept`, async (t) => {
  await redis.flushall()
  const clock = fakeClock(Date.now())
  const app = await buildTestApp({ redisUrl: server.url, clock })
  t.teardown(() => app.close())
  const services = Array.from({ length: MAX_SERVICES + 23 }, (_, i) => `svc-${String(i).padStart(4, '0')}`)
  await writeBeats(
    redis,
    clock(),
    shuffled(
      services.map((service) => ({ service, nodeId: 'n1' })),
      seededRandom(9),
    ),
  )
  // three services report 1,050 queues between them, as agents write their queue snapshots
  const queueServices = services.slice(0, 3)
  let waitingTotal = 0
  const pipeline = redis.pipeline()
  queueServices.forEach((service, s) => {
    const queues = Array.from({ length: 350 }, (_, q) => {
      const waiting = (q * 7 + s) % 13
      waitingTotal += waiting
      return { name: `q-${String(q).padStart(3, '0')}`, driver: 'bullmq', metrics: { waiting, active: 1, failed: q % 3 } }
    })
    pipeline.set(`gravito:quasar:queues:${service}`, JSON.stringify({ timestamp: clock(), service, nodeId: 'n1', queues }))
  })
  await pipeline.exec()
  await eventually(async () => {
    await app.collector.refresh()
    return app.collector.snapshot.nodes.length === services.length && queueRecordsOf(app.collector.snapshot).length === 1_050
  }, 'every node and queue read')

  const families = parseExposition((await app.inject({ url: '/metrics' })).body)
  const nodes = samplesOf(families, 'zenith_nodes')
  t.equal(new Set(nodes.map((sample) => sample.labels.service)).size, MAX_SERVICES + 1, `${MAX_SERVICES} services and ${OTHER}`)
  t.equal(valueOf(families, 'zenith_nodes', { service: OTHER, health: 'fresh' }), 23, 'the 23 past the bound')
  t.equal(
    nodes.reduce((sum, sample) => sum + sample.value, 0),
    services.length,
    'every node counted',
  )
  t.equal(valueOf(families, 'zenith_metrics_folded', { kind: 'service' }), 23)

  const waiting = samplesOf(families, 'zenith_queue_jobs').filter((sample) => sample.labels.state === 'waiting')
  t.equal(waiting.length, MAX_QUEUES + 1, `${MAX_QUEUES} queues and ${OTHER}`)
  t.equal(
    waiting.reduce((sum, sample) => sum + sample.value, 0),
    waitingTotal,
    'every waiting job counted',
  )
  t.equal(valueOf(families, 'zenith_queue_jobs', { service: OTHER, queue: OTHER, state: 'active' }), 50, 'the 50 queues past the bound, one active job each')
  t.equal(valueOf(families, 'zenith_metrics_folded', { kind: 'queue' }), 50)
  t.equal(samplesOf(families, 'zenith_queue_up').length, MAX_QUEUES, 'per-queue gauges stop at the bound')
})
