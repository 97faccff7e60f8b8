/**
 * LIST_JOBS on the agent's side: the request is read from the signed jobId and nothing else; a
 * malformed one, an unknown queue or a driver that cannot list are refused with a reason; an
 * answer is cut to 64 KB whatever the job holds, and kept a minute, not a day.
 */
import t from 'tap'
import {
  fitListJobsAnswer,
  LIST_JOBS_ANSWER_MAX_BYTES,
  LIST_JOBS_ANSWER_TTL_SECONDS,
  listJobsRequestId,
  parseListJobsRequest,
  readListJobsResult,
  signCommand,
  type JobDetail,
  type ListJobsAnswer,
} from '../../src/protocol/index.js'
import { answerListJobs } from '../../src/commands/list-jobs.js'
import type { QueueProbe } from '../../src/queues/probe.js'

t.test('the request round-trips through the signed jobId; anything else is no request', async (t) => {
  for (const request of [
    { kind: 'list', state: 'waiting', page: 1 },
    { kind: 'list', state: 'waiting-children', page: 9999 },
    { kind: 'get', jobId: 'a:b {c} 42' },
  ] as const) {
    t.same(parseListJobsRequest(listJobsRequestId(request)), request)
  }
  for (const bad of ['list:waiting:0', 'list:waiting:01', 'list:finished:1', 'list:waiting:10001', 'list:waiting', 'get:', `get:${'x'.repeat(257)}`, '*', '42']) {
    t.equal(parseListJobsRequest(bad), null, bad)
  }
})

const command = (jobId: string) => signCommand({ v: 1, id: 'cmd-00000001', type: 'LIST_JOBS', service: 's', nodeId: 'n', queue: 'q', jobId, issuedAt: 1, expiresAt: 2 }, 'a-token-long-enough-to-sign')
const outcome = (status: 'ok' | 'failed' | 'rejected', reason?: string) => ({ id: 'cmd-00000001', status, ...(reason ? { reason } : {}), service: 's', nodeId: 'n', finishedAt: 1 })

t.test('refusals name why, and a probe that throws answers failed', async (t) => {
  const lister: QueueProbe = { name: 'q', driver: 'laravel', probe: async () => ({}) as never, listJobs: async () => ({ state: 'waiting', page: 1, pageSize: 50, total: 0, jobs: [] }) }
  t.match((await answerListJobs(command('list:nope:1'), lister, outcome)).result, { status: 'rejected', reason: /^malformed LIST_JOBS request/ })
  t.match((await answerListJobs(command('list:waiting:1'), undefined, outcome)).result, { status: 'rejected', reason: 'unknown queue q on this node' })
  t.match((await answerListJobs(command('get:7'), lister, outcome)).result, { status: 'rejected', reason: 'queue q (laravel) cannot show one job' })
  const silent: QueueProbe = { name: 'q', driver: 'redis-list', probe: async () => ({}) as never }
  t.match((await answerListJobs(command('list:waiting:1'), silent, outcome)).result, { status: 'rejected', reason: 'queue q (redis-list) cannot list its jobs' })
  const broken: QueueProbe = { ...lister, listJobs: async () => Promise.reject(new Error('WRONGTYPE on q\nsecond line')) }
  t.match((await answerListJobs(command('list:waiting:1'), broken, outcome)).result, { status: 'failed', reason: 'WRONGTYPE on q' })
  const ok = await answerListJobs(command('list:waiting:1'), lister, outcome)
  t.match(ok.result, { status: 'ok', answer: { kind: 'page', state: 'waiting', total: 0, jobs: [] } })
  t.equal(ok.ttlSeconds, LIST_JOBS_ANSWER_TTL_SECONDS, 'kept a minute: nobody reads it later')
})

t.test('an answer is cut to 64 KB, newest log lines and stacks kept, and still reads back', async (t) => {
  const job: JobDetail = {
    id: '1',
    name: 'big',
    state: 'failed',
    attemptsMade: 10,
    addedAt: 1,
    startedAt: 2,
    finishedAt: 3,
    failedReason: 'r'.repeat(2048),
    data: JSON.stringify('d'.repeat(16_000)),
    opts: JSON.stringify('o'.repeat(4000)),
    result: null,
    stacks: Array.from({ length: 10 }, (_, i) => `stack ${i} ${'s'.repeat(8000)}`),
    logs: Array.from({ length: 100 }, (_, i) => `line ${i} ${'l'.repeat(2000)}`),
  }
  const wrap = (answer: ListJobsAnswer) => ({ ...outcome('ok'), answer })
  const fitted = fitListJobsAnswer({ kind: 'job', job }, wrap)
  const raw = JSON.stringify(wrap(fitted))
  t.ok(Buffer.byteLength(raw) <= LIST_JOBS_ANSWER_MAX_BYTES, `${Buffer.byteLength(raw)} bytes`)
  t.ok(JSON.stringify(wrap({ kind: 'job', job })).length > LIST_JOBS_ANSWER_MAX_BYTES * 3, 'it was far larger')
  const back = readListJobsResult(raw)
  t.ok(back.ok, 'the cut answer is a valid answer')
  if (fitted.kind !== 'job' || !fitted.job) {
    t.fail('a job')
    return
  }
  t.equal(fitted.job.logs.at(-1), job.logs.at(-1), 'the newest log line kept')
  t.equal(fitted.job.stacks.at(-1), job.stacks.at(-1), 'the newest stack kept')
  t.equal(fitted.job.data, job.data, 'the data kept while the logs and stacks make room')

  const rows = Array.from({ length: 50 }, (_, i) => ({ id: `${i}`, name: 'n'.repeat(256), state: 'failed' as const, attemptsMade: 1, addedAt: 1, startedAt: 1, finishedAt: 1, failedReason: 'x'.repeat(2048) }))
  const page = fitListJobsAnswer({ kind: 'page', state: 'failed', page: 1, pageSize: 50, total: 50, jobs: rows }, wrap)
  t.ok(Buffer.byteLength(JSON.stringify(wrap(page))) <= LIST_JOBS_ANSWER_MAX_BYTES)
  t.equal(page.kind === 'page' && page.jobs.length, 50, 'reasons are shortened before any row is dropped')
})
