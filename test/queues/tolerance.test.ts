/**
 * Queue snapshots from several services, each queue with a different defect, in shuffled orders,
 * against a real Redis: every queue keeps its counts, every good failed job stays, the faulty unit
 * alone is dropped or cut, the row and the queue page say what and why (bounded), and every skip
 * reaches the bad-data log as `field: reason`.
 */
import t from 'tap'
import { FAILED_JOB_LIMITS } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { buildTestApp, fakeClock } from '../helpers/app.js'
import { keys as consoleKeys, recordingBadData } from '../nodes/fleet.js'
import { seededRandom, shuffled } from '../helpers/shuffle.js'
import { createAgentSnapshotReader } from '../../server/queues/agent-reader.js'
import { after, writeSnapshot } from './helpers.js'

const { server: redisServer, redis } = await useRedis(t)

type Entry = Record<string, any>
const counts = { waiting: 12, active: 2, delayed: 1, failed: 3 }
const job = (id: string, extra: Entry = {}): Entry => ({ id, name: 'send', failedReason: `failed ${id}`, stacktrace: ['Error', 'at x'], attemptsMade: 1, timestamp: 1, data: '{}', ...extra })
const jobs = (name: string) => [job(`${name}-a`), job(`${name}-b`), job(`${name}-c`)]

interface Defect {
  name: string
  entry: Entry
  /** ids of the failed jobs the page must list */
  jobIds: string[]
  skips: [string, RegExp][]
}

const defects: Defect[] = [
  { name: 'clean', entry: { metrics: counts, failedJobs: jobs('clean') }, jobIds: ['clean-a', 'clean-b', 'clean-c'], skips: [] },
  {
    name: 'laravel-exception',
    entry: { metrics: counts, failedJobs: [job('l-a', { failedReason: `Illuminate\\Database\\QueryException: ${'x'.repeat(FAILED_JOB_LIMITS.reason)}` }), job('l-b')] },
    jobIds: ['l-a', 'l-b'],
    skips: [['failedJobs[0].failedReason', /^2084 characters, over 2048: cut$/]],
  },
  {
    name: 'no-id',
    entry: { metrics: counts, failedJobs: [job('n-a'), { name: 'orphan', failedReason: 'lost' }, job('n-c')] },
    jobIds: ['n-a', 'n-c'],
    skips: [['failedJobs[1].id', /^missing: job dropped$/]],
  },
  {
    name: 'deep-stack',
    entry: { metrics: counts, failedJobs: [job('d-a', { stacktrace: Array.from({ length: 11 }, (_, i) => `at f${i}`) })] },
    jobIds: ['d-a'],
    skips: [['failedJobs[0].stacktrace', /^11 lines, over 10: the first 10 kept$/]],
  },
  { name: 'bad-count', entry: { metrics: { ...counts, active: -2 }, failedJobs: jobs('bad-count') }, jobIds: ['bad-count-a', 'bad-count-b', 'bad-count-c'], skips: [['metrics.active', /^-2 is negative$/]] },
  {
    name: 'many-bad-jobs',
    entry: { metrics: counts, failedJobs: [...Array.from({ length: 30 }, () => ({ name: 'no id' })), job('m-ok')] },
    jobIds: ['m-ok'],
    skips: Array.from({ length: 30 }, (_, i): [string, RegExp] => [`failedJobs[${i}].id`, /^missing: job dropped$/]),
  },
]

/** An entry with an unknown driver: the one unit a queue can lose whole (it cannot be shown for what it is). */
const unknownDriver = { name: 'rq-jobs', driver: 'rq', metrics: counts }

t.test('snapshots of defective queues, in shuffled orders', async (t) => {
  for (let seed = 1; seed <= 3; seed++) {
    await redis.flushall()
    const clock = fakeClock()
    const app = await buildTestApp({ redisUrl: redisServer.url, clock })
    const next = seededRandom(seed)
    const services = ['billing', 'mailer', 'shop']
    const written = new Map<string, Entry[]>()
    for (const service of shuffled(services, next)) {
      const entries = shuffled([...defects.map((d) => ({ name: d.name, driver: 'bullmq', ...d.entry })), unknownDriver], next)
      written.set(service, entries)
      await writeSnapshot(redis, service, { timestamp: clock(), nodeId: 'worker-1', queues: entries })
    }
    await app.collector.refresh()
    await app.collector.refresh()

    const api = (await app.inject('/api/pulse/queues')).json().queues as Entry[]
    t.same(
      api.map((q) => `${q.service}/${q.name}`),
      services.flatMap((s) => defects.map((d) => `${s}/${d.name}`).sort()),
      `seed ${seed}: every queue but the unknown driver's`,
    )
    for (const q of api) {
      const expected = q.name === 'bad-count' ? { ...counts, active: null } : counts
      t.match(q, expected, `${q.service}/${q.name}: counts kept`)
      // the API names the skipped fields as the row does, for scripts that check their agents
      const defect = defects.find((d) => d.name === q.name)!
      t.same(
        ((q as { skipped?: { field: string }[] }).skipped ?? []).slice(0, 3).map((skip) => skip.field),
        defect.skips.slice(0, 3).map(([field]) => field),
        `${q.service}/${q.name}: the API names the skipped fields`,
      )
    }

    const table = (await app.inject('/queues')).body
    for (const service of services) {
      for (const defect of defects) {
        const row = after(table, `href="/queues/${service}/${defect.name}"`).split('</tr>')[0]!
        if (defect.skips.length === 0) t.notMatch(row, 'skip-note', `${service}/${defect.name}: no note`)
        else t.match(row, `<code>${defect.skips[0]![0]}</code>`, `${service}/${defect.name}: the row names the field`)
      }
      const many = after(table, `href="/queues/${service}/many-bad-jobs"`).split('</tr>')[0]!
      t.match(many, '; and 27 more</span>', 'a row lists a few and counts the rest')

      for (const defect of defects) {
        const page = (await app.inject(`/queues/${service}/${defect.name}`)).body
        const listed = [...page.matchAll(/<code class="job-id" title="job id">([^<]*)<\/code>/g)].map((m) => m[1])
        t.same(listed, defect.jobIds, `${service}/${defect.name}: every good job listed`)
        for (const [field, reason] of defect.skips.slice(0, 3))
          t.match(page, new RegExp(`<li><code>${field.replace(/[[\]]/g, '\\$&')}</code>: ${reason.source.slice(1, -1)}</li>`), `${defect.name}: the page says ${field}`)
      }
      const cut = (await app.inject(`/queues/${service}/laravel-exception`)).body
      t.match(cut, /<p class="job-reason">Illuminate\\Database\\QueryException: x+…<\/p>/, 'the cut reason is shown, marked')
    }

    // the reports, with their full paths, as the log and the problems page get them
    const badData = recordingBadData()
    const read = createAgentSnapshotReader(redis, consoleKeys, badData)
    await read(services)
    for (const service of services) {
      const reports = badData.about(consoleKeys.queues(service))
      const entries = written.get(service)!
      // every skip of the snapshot in entry order; the reader keeps the first MAX_SKIPS and counts the rest
      const expected = entries.flatMap((entry, at): [string, RegExp][] =>
        entry === unknownDriver ? [[`queues[${at}].driver`, /^unknown value "rq": entry dropped$/]] : defects.find((d) => d.name === entry.name)!.skips.map(([field, reason]) => [`queues[${at}].${field}`, reason]),
      )
      t.equal(reports.length, 21, `${service}: twenty skips and one count, whatever the snapshot holds`)
      expected.slice(0, 20).forEach(([field, reason], i) => {
        t.ok(reports[i]?.startsWith(`${field}: `), `${service}: report ${i} is ${field}`)
        t.match(reports[i]?.slice(field.length + 2), reason)
      })
      t.match(reports.at(-1), new RegExp(`^\\*: ${expected.length - 20} more fields skipped`))
    }
    await app.close()
  }
})

t.test('one defect per snapshot: each reported with its full path', async (t) => {
  await redis.flushall()
  const clock = fakeClock()
  const badData = recordingBadData()
  const read = createAgentSnapshotReader(redis, consoleKeys, badData)
  const services: string[] = []
  for (const defect of defects.filter((d) => d.skips.length > 0)) {
    const service = `svc-${defect.name}`
    services.push(service)
    await writeSnapshot(redis, service, {
      timestamp: clock(),
      queues: [
        { name: 'first', driver: 'laravel', metrics: counts },
        { name: defect.name, driver: 'bullmq', ...defect.entry },
      ],
    })
  }
  const snapshots = await read(services)
  for (const defect of defects.filter((d) => d.skips.length > 0)) {
    const service = `svc-${defect.name}`
    t.same(
      snapshots.get(service)?.queues.map((q) => q.name),
      ['first', defect.name],
      `${service}: both entries kept`,
    )
    const reports = badData.about(consoleKeys.queues(service))
    const shown = defect.skips.slice(0, 20)
    for (const [field, reason] of shown) {
      const line = reports.find((r) => r.startsWith(`queues[1].${field}: `))
      t.ok(line, `${service}: ${field} reported`)
      t.match(line?.slice(`queues[1].${field}: `.length), reason)
    }
  }
  // read again unchanged: parsed once, reported once
  const before = badData.reports.length
  await read(services)
  t.equal(badData.reports.length, before, 'an unchanged snapshot is not reported again')
})
