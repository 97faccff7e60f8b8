/**
 * One job in full, `/jobs/{service}/{queue}/{id}` and its API: from its queue when the queue still
 * holds it (with the archived attempts beside it), from the archive when it does not, and 404 for
 * a job neither knows. Real BullMQ queues and a real SQLite archive (fixture.ts).
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { jobUrl } from '../../server/http/urls.js'
import { REDACTED } from '@gravito/quasar/protocol'
import { buildJobsWorld, SECRET } from './fixture.js'

const { server: redisServer } = await useRedis(t)
const world = await buildJobsWorld(t, redisServer.url, { archivedCount: 300 })
const { app } = world
const html = { accept: 'text/html' }

interface DetailAnswer {
  origin: string
  state: string
  name: string | null
  data: string | null
  attempts: { attempt: number; state: string; stack: string | null; failedReason: string | null }[]
  liveStacks: string[]
  timeline: { at: number; what: string }[]
  commands: string[]
}

t.test('a failed job its queue still holds: live, with its archived attempt and trace', async (t) => {
  const job = world.live.find((row) => row.queue === 'payments')!
  const api = await app.inject(`/api/jobs/billing/payments/${job.jobId}`)
  t.equal(api.statusCode, 200)
  const detail = api.json<DetailAnswer>()
  t.equal(detail.origin, 'live')
  t.equal(detail.state, 'failed')
  const data = JSON.parse(detail.data!) as Record<string, unknown>
  t.equal(data.password, REDACTED, 'a secret key in the job data is redacted')
  t.equal(data.memo, SECRET, 'the rest of the data is shown')
  t.same(
    detail.attempts.map((attempt) => [attempt.attempt, attempt.state]),
    [[1, 'failed']],
    'the archived attempt',
  )
  t.match(detail.attempts[0]!.stack, /Card declined/)
  t.same(
    detail.timeline.map((entry) => entry.what),
    ['added', 'attempt 1 started', 'attempt 1 failed'],
  )
  t.ok(
    detail.timeline.every((entry, i, all) => i === 0 || all[i - 1]!.at <= entry.at),
    'the timeline is in time order',
  )
  t.same(detail.commands, [], 'a discovered queue is read-only: no Retry nor Delete')

  const page = await app.inject({ url: jobUrl('billing', 'payments', job.jobId), headers: html })
  t.equal(page.statusCode, 200)
  t.match(page.body, /class="q-source job-origin"[^>]*>live</)
  t.match(page.body, /<pre class="job-pre job-stack">Error: Card declined/)
  t.match(page.body, /No Retry or Delete: discovered in Redis/)
  t.notMatch(page.body, /aria-label="Retry job/)
})

t.test('a waiting job that was never archived: live, data and options, no attempt yet', async (t) => {
  const job = world.live.find((row) => row.state === 'waiting' && row.service === 'mailer')!
  const detail = (await app.inject(`/api/jobs/mailer/digest/${job.jobId}`)).json<DetailAnswer>()
  t.equal(detail.origin, 'live')
  t.equal(detail.state, 'waiting')
  t.equal(detail.name, job.name)
  t.match(JSON.parse(detail.data!), { memo: SECRET, user: { id: 1 } })
  t.same(detail.attempts, [])
  t.same(
    detail.timeline.map((entry) => entry.what),
    ['added'],
  )
})

t.test('a job only the archive knows, in a queue named with a slash, a space, a colon and quotes', async (t) => {
  const { service, queue, jobId } = world.archivedOnly
  const url = jobUrl(service, queue, jobId)
  const page = await app.inject({ url, headers: html })
  t.equal(page.statusCode, 200, url)
  t.match(page.body, /class="q-source job-origin"[^>]*>archived</)
  t.match(page.body, /No Retry or Delete: the job is no longer in its queue/)
  t.equal((page.body.match(/<pre class="job-pre job-stack">/g) ?? []).length, 2, 'each failed attempt with its trace')
  const api = await app.inject(url.replace('/jobs/', '/api/jobs/'))
  t.equal(api.statusCode, 200)
  const detail = api.json<DetailAnswer>()
  t.equal(detail.origin, 'archived')
  t.equal(detail.state, 'completed', 'the state of the newest attempt')
  t.same(
    detail.attempts.map((attempt) => [attempt.attempt, attempt.state, attempt.failedReason]),
    [
      [1, 'failed', 'Quota exceeded'],
      [2, 'failed', 'Quota exceeded'],
      [3, 'completed', null],
    ],
  )
  t.same(
    detail.timeline.map((entry) => entry.what),
    ['added', 'attempt 1 started', 'attempt 1 failed', 'attempt 2 started', 'attempt 2 failed', 'attempt 3 started', 'attempt 3 completed'],
  )
})

t.test('a job neither the queue nor the archive holds is a 404', async (t) => {
  for (const [service, queue, id] of [
    ['billing', 'payments', 'no-such-job'],
    ['billing', 'no-such-queue', '1'],
    ['nobody', 'emails', '1'],
  ] as const) {
    const api = await app.inject(`/api/jobs/${service}/${encodeURIComponent(queue)}/${id}`)
    t.equal(api.statusCode, 404, `${service}/${queue}/${id}`)
    t.match(api.json(), { error: 'Not Found', message: new RegExp(`no job ${id} in ${service}/${queue}`) })
    const page = await app.inject({ url: jobUrl(service, queue, id), headers: html })
    t.equal(page.statusCode, 404)
    t.match(page.body, /the archive has no record of it/)
  }
  const bad = await app.inject('/api/jobs/bad%20service/emails/1')
  t.equal(bad.statusCode, 400, 'a service name outside the name rule is refused')
})

t.test('job ids of dots keep their own page: a browser would resolve `.` and `..` away', async (t) => {
  const ids = ['.', '..', '~..', 'a.b']
  const base = world.base
  await world.store.upsert(
    ids.map((jobId, i) => ({
      service: 'billing',
      queue: 'dots',
      jobId,
      attempt: 1,
      state: 'completed' as const,
      name: `dots-${i}`,
      driver: 'bullmq' as const,
      addedAt: base,
      startedAt: base,
      finishedAt: base + i,
      durationMs: 0,
      waitMs: 0,
      failedReason: null,
      stack: null,
      data: null,
      opts: null,
      result: null,
      appVersion: null,
      nodeId: 'n1',
    })),
  )
  for (const [i, jobId] of ids.entries()) {
    const url = jobUrl('billing', 'dots', jobId)
    // what a browser sends: the URL normalised as WHATWG does it
    const sent = new URL(url, 'http://localhost').pathname
    t.ok(sent.startsWith('/jobs/billing/dots/'), `${JSON.stringify(jobId)} stays in its segment: ${sent}`)
    const api = await app.inject(sent.replace('/jobs/', '/api/jobs/'))
    t.equal(api.statusCode, 200, sent)
    t.equal(api.json<DetailAnswer>().name, `dots-${i}`, `${JSON.stringify(jobId)} is the job asked for`)
  }
})
