/**
 * `GET /api/jobs` and `/jobs` against a real redis-server with real BullMQ queues and a real
 * SQLite archive of thousands of attempts: every qualifier, paged with small pages, must return
 * exactly the rows a plain model of the fixture says, each once, newest first, live jobs marked
 * live and never repeated as archived; no list answer carries a payload.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { useRedis } from '../helpers/redis-server.js'
import { buildJobsWorld, SECRET, type ExpectedRow, type JobsWorld } from './fixture.js'
import type { ArchivedJob, JobQuery } from '../../server/archive/store.js'
import { parseJobQuery } from '../../server/jobs/query.js'

const { server: redisServer } = await useRedis(t)
const world = await buildJobsWorld(t, redisServer.url)
const { app } = world

interface ApiRow {
  origin: string
  service: string
  queue: string
  jobId: string
  attempt: number | null
  state: string
  at: number
}

interface ApiPage {
  rows: ApiRow[]
  next: string | null
  partial: string[]
  notes: string[]
}

/** Every page of a search; each body is checked for payloads. */
async function searchAll(t: Test, app: FastifyInstance, q: string, limit: number): Promise<{ rows: ApiRow[]; pages: ApiPage[] }> {
  const rows: ApiRow[] = []
  const pages: ApiPage[] = []
  let cursor: string | null = null
  for (let round = 0; round < 2_000; round++) {
    const url: string = `/api/jobs?${new URLSearchParams({ q, limit: String(limit), ...(cursor ? { cursor } : {}) }).toString()}`
    const response: { statusCode: number; body: string; json<T>(): T } = await app.inject(url)
    t.equal(response.statusCode, 200, url)
    t.notOk(response.body.includes(SECRET) || response.body.toLowerCase().includes(SECRET.toLowerCase()), `no payload in ${url}`)
    const page: ApiPage = response.json<ApiPage>()
    t.notOk(
      page.rows.some((row) => 'data' in row || 'opts' in row || 'result' in row || 'stack' in row),
      'no row has a payload field',
    )
    pages.push(page)
    rows.push(...page.rows)
    if (!page.next) return { rows, pages }
    t.ok(page.rows.length > 0 || page.partial.length > 0, 'a page with a next cursor has rows or says why not')
    cursor = page.next
  }
  throw new Error('the search never ended')
}

/** The model: which rows a query must return, from the fixture alone. */
function expectedRows(world: JobsWorld, query: JobQuery): ExpectedRow[] {
  const liveMatches = query.versions || query.data ? [] : world.live.filter((row) => matches(query, row, [row.name, row.failedReason]))
  const liveKeys = new Set(liveMatches.map((row) => key(row)))
  const archived = world.archived.map(toExpected).filter((row) => !liveKeys.has(key(row)) && matches(query, row, [row.name, row.failedReason, row.stack]))
  return [...liveMatches, ...archived]
}

function toExpected(job: ArchivedJob): ExpectedRow {
  return {
    origin: 'archived',
    service: job.service,
    queue: job.queue,
    jobId: job.jobId,
    name: job.name,
    state: job.state,
    attempt: job.attempt,
    at: job.finishedAt,
    failedReason: job.failedReason,
    stack: job.stack,
    appVersion: job.appVersion,
    data: JSON.parse(job.data!),
  }
}

function matches(query: JobQuery, row: ExpectedRow, texts: (string | null)[]): boolean {
  const lower = texts.map((text) => (text ?? '').toLowerCase())
  if (query.services && !query.services.includes(row.service)) return false
  if (query.queues && !query.queues.includes(row.queue)) return false
  if (query.names && !query.names.includes(row.name ?? '')) return false
  if (query.states && !query.states.includes(row.state)) return false
  if (query.ids && !query.ids.includes(row.jobId)) return false
  if (query.versions && !query.versions.includes(row.appVersion ?? '')) return false
  if (query.since !== undefined && row.at < query.since) return false
  if (query.until !== undefined && row.at >= query.until) return false
  if (query.error !== undefined && !lower.slice(1).some((text) => text.includes(query.error!.toLowerCase()))) return false
  if (query.words && !query.words.every((word) => lower.some((text) => text.includes(word.toLowerCase())))) return false
  for (const { path, value } of query.data ?? []) {
    let node: unknown = row.data
    for (const part of path) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined
    if (node === undefined || String(node) !== value) return false
  }
  return true
}

function key(row: { service: string; queue: string; jobId: string }): string {
  return JSON.stringify([row.service, row.queue, row.jobId])
}

function rowKey(row: { origin: string; service: string; queue: string; jobId: string; attempt: number | null }): string {
  return JSON.stringify([row.origin, row.service, row.queue, row.jobId, row.origin === 'live' ? null : row.attempt])
}

async function checkSearch(t: Test, q: string, limit: number, { minRows = 1, partial = false } = {}) {
  const parsed = parseJobQuery(q, Date.now())
  if (!parsed.ok) throw new Error(parsed.error)
  const expected = expectedRows(world, parsed.query)
  t.ok(expected.length >= minRows, `the fixture has ${expected.length} matches for ${q || '(everything)'}`)
  const { rows, pages } = await searchAll(t, app, q, limit)
  if (!partial)
    t.same(
      pages.flatMap((page) => page.partial),
      [],
      'nothing left out',
    )
  t.equal(rows.length, expected.length, 'as many rows as matches')
  t.same(rows.map(rowKey).sort(), expected.map(rowKey).sort(), 'exactly the matches, each once')
  t.equal(new Set(rows.map(rowKey)).size, rows.length, 'no row twice across pages')
  let ordered = true
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1]!, rows[i]!]
    if (a.at < b.at || (a.at === b.at && a.origin === 'archived' && b.origin === 'live')) ordered = false
  }
  t.ok(ordered, 'newest first; at one instant live before archived')
  const byKey = new Map(expected.map((row) => [rowKey(row), row]))
  t.ok(
    rows.every((row) => byKey.get(rowKey(row))?.at === row.at && byKey.get(rowKey(row))?.state === row.state),
    'each row has its time and state',
  )
  return { rows, pages }
}

t.test('everything, in pages of 97: every live job and archived attempt once, live first at ties', async (t) => {
  const { rows } = await checkSearch(t, '', 97, { minRows: 3000 })
  const liveFailed = world.live.filter((row) => row.state === 'failed' && row.queue === 'payments')
  for (const job of liveFailed) {
    const shown = rows.filter((row) => key(row) === key(job))
    t.equal(shown.length, 1, `job ${job.jobId} (live and archived) shows once`)
    t.equal(shown[0]?.origin, 'live', 'and as live')
  }
})

t.test('every qualifier, alone and together', async (t) => {
  const since = new Date(world.base + 2 * 3_600_000).toISOString()
  const until = new Date(world.base + 4 * 3_600_000).toISOString()
  for (const [q, limit] of [
    ['service:billing', 50],
    ['service:mailer service:api', 200],
    ['queue:emails queue:payments', 40],
    ['name:send-invoice', 60],
    ['state:failed', 120],
    ['state:waiting state:delayed', 7],
    ['state:completed', 150],
    [`id:${world.live.find((row) => row.queue === 'payments' && row.jobId !== world.retried.jobId)!.jobId} id:5010 id:5011`, 1],
    ['version:2.0.0', 150],
    ['error:"SMTP timeout"', 60],
    ['error:"card declined" service:billing', 30],
    ['data.user.id:3', 80],
    ['data.plan:pro state:completed', 90],
    [`since:${since} until:${until}`, 70],
    ['quota exceeded', 55],
    ['charge-card state:failed', 33],
    ['service:billing queue:emails name:digest state:waiting', 3],
  ] as const) {
    await t.test(q, async (t) => void (await checkSearch(t, q, limit)))
  }
})

t.test('a live job with more archived attempts than a page reads while skipping: the rest of its queue still comes, once', async (t) => {
  const { rows, pages } = await checkSearch(t, `service:${world.retried.service} queue:${world.retried.queue}`, 2, { partial: true })
  t.equal(rows.length, 9, 'the live job once and the 8 archived jobs of its queue')
  t.equal(rows.filter((row) => row.jobId === world.retried.jobId).length, 1)
  t.ok(
    pages.some((page) => page.partial.some((reason) => /archived attempts of jobs shown as live were skipped/.test(reason))),
    'a page says it stopped skipping and where the next goes on',
  )
})

t.test('a query the parser refuses is a 400 in the API and a 422 form on the page', async (t) => {
  const api = await app.inject('/api/jobs?q=colour:red')
  t.equal(api.statusCode, 400)
  t.match(api.json(), { error: 'Bad Request', message: /unknown qualifier colour:/ })
  const cursor = await app.inject('/api/jobs?q=&cursor=not-a-cursor')
  t.equal(cursor.statusCode, 400)
  t.match(cursor.json().message, /not a cursor/)
  const page = await app.inject({ url: '/jobs?q=state:finished', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 422)
  t.match(page.body, /role="alert">state:finished is not a state/)
  t.match(page.body, /value="state:finished"/, 'the form keeps what was typed')
  const limit = await app.inject('/api/jobs?limit=100000')
  t.equal(limit.statusCode, 400)
})

t.test('/jobs pages through results without JavaScript: each Older link goes on where the page ended', async (t) => {
  const q = 'service:mailer'
  const expected = expectedRows(world, (parseJobQuery(q, Date.now()) as { ok: true; query: JobQuery }).query)
  const seen: string[] = []
  let url: string | null = `/jobs?q=${encodeURIComponent(q)}&limit=40`
  let pages = 0
  while (url) {
    const response = await app.inject({ url, headers: { accept: 'text/html' } })
    t.equal(response.statusCode, 200, url)
    t.notOk(response.body.includes(SECRET), 'no payload on the page')
    for (const match of response.body.matchAll(/<a class="job-link" href="([^"]+)">/g)) seen.push(match[1]!)
    const next = /<a href="([^"]+)" rel="next">Older<\/a>/.exec(response.body)
    url = next ? next[1]!.replaceAll('&amp;', '&') : null
    pages++
  }
  t.equal(pages, Math.ceil(expected.length / 40) + (expected.length % 40 === 0 ? 1 : 0) || 1, 'as many pages as the matches fill')
  t.equal(seen.length, expected.length, 'every match linked once')
  t.match(seen[0], /^\/jobs\/mailer\//, 'rows link to their detail')
  const first = await app.inject({ url: '/jobs', headers: { accept: 'text/html' } })
  t.match(first.body, /<a href="\/jobs" aria-current="page">Jobs<\/a>/, 'the navigation has Jobs, current')
  t.match(first.body, /id="archive-settings"/, 'the archive settings show on the page')
})
