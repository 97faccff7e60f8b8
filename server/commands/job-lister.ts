/**
 * The console's side of LIST_JOBS (sdk/src/protocol/list-jobs.ts): an agent's queue is listed by
 * asking its node. The request is signed like a command and sent on the node's stream, but it
 * changes nothing, so it is neither audited nor counted as pending. The answer is awaited in the
 * command's result key for a few seconds, read at most LIST_JOBS_ANSWER_MAX_BYTES + 1 bytes,
 * checked against what was asked (id, node, state, page) and against the schema; anything else is
 * ignored and the page says why.
 *
 * Cost: the queues area caches each page a few seconds (server/queues/live-reader.ts), and each
 * node is asked at most REQUESTS_PER_SECOND times a second on average, whatever the viewers do.
 * An agent that never declared LIST_JOBS (older SDKs) still shows its failed jobs: the snapshot's
 * newest, as before.
 */
import { randomBytes } from 'node:crypto'
import { LIST_JOBS, LIST_JOBS_ANSWER_MAX_BYTES, LIST_JOBS_PAGE_SIZE, listJobsRequestId, readListJobsResult, signCommand, type ListJobsRequest, type ListJobsResult } from '@gravito/quasar/protocol'
import type { Clock } from '../clock.js'
import type { LiveJob, LiveJobPage } from '../queues/live-jobs.js'
import type { AgentJobLister } from '../queues/live-reader.js'
import type { QueueRecord } from '../queues/records.js'
import type { CommandStore } from './store.js'

/** how long a request stays valid for its agent: it is useless once nobody waits for it */
const REQUEST_TTL_MS = 60_000
export const REQUESTS_PER_SECOND = 5
const BURST = 10

export interface JobListerOptions {
  store: Pick<CommandStore, 'sendRequest' | 'readRequestAnswer'>
  clock: Clock
  /** without one nothing can be signed: only what the snapshot holds is shown */
  token: string | undefined
  /** how long to wait for the answer (ms); default 4 s */
  timeoutMs?: number
  /** how often the result key is read while waiting (ms); default 50 */
  pollMs?: number
}

type Asked = { ok: true; result: ListJobsResult } | { ok: false; error: string }

export function createAgentJobLister(options: JobListerOptions): AgentJobLister {
  const { store, clock, token } = options
  const timeoutMs = options.timeoutMs ?? 4_000
  const pollMs = options.pollMs ?? 50
  const buckets = new Map<string, { tokens: number; at: number }>()

  /** a token of the node's bucket, or false when it is spent */
  function take(node: string): boolean {
    const now = Date.now()
    const bucket = buckets.get(node) ?? { tokens: BURST, at: now }
    bucket.tokens = Math.min(BURST, bucket.tokens + ((now - bucket.at) / 1000) * REQUESTS_PER_SECOND)
    bucket.at = now
    buckets.set(node, bucket)
    if (buckets.size > 10_000) buckets.delete(buckets.keys().next().value!)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  async function ask(record: QueueRecord, request: ListJobsRequest): Promise<Asked> {
    const nodeId = record.nodeId
    if (!record.listsJobs || nodeId === undefined) return { ok: false, error: 'its agent does not answer LIST_JOBS (an older SDK, or a queue it cannot list)' }
    if (token === undefined) return { ok: false, error: 'jobs of an agent queue cannot be listed: commands are disabled (no QUASAR_TOKEN)' }
    if (!take(`${record.service}\n${nodeId}`)) return { ok: false, error: 'too many job lists asked of this agent; try again in a moment' }
    const id = randomBytes(16).toString('base64url')
    const issuedAt = clock()
    const signed = signCommand({ v: 1, id, type: LIST_JOBS, service: record.service, nodeId, queue: record.name, jobId: listJobsRequestId(request), issuedAt, expiresAt: issuedAt + REQUEST_TTL_MS }, token)
    try {
      await store.sendRequest(signed)
    } catch {
      return { ok: false, error: 'Redis is not reachable: the agent could not be asked' }
    }
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const raw = await store.readRequestAnswer(record.service, id, LIST_JOBS_ANSWER_MAX_BYTES).catch(() => null)
      if (raw !== null) return check(raw, { id, nodeId, service: record.service })
      if (performance.now() >= deadline) return { ok: false, error: `node ${nodeId} did not answer within ${Math.round(timeoutMs / 1000)} s` }
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
  }

  return {
    async list(record, state, page) {
      const empty: LiveJobPage = { jobs: [], state, page, pageSize: LIST_JOBS_PAGE_SIZE, total: null }
      if ((!record.listsJobs || token === undefined) && state === 'failed') return fromSnapshot(record, page)
      const asked = await ask(record, { kind: 'list', state, page })
      if (!asked.ok) return { ...empty, error: asked.error }
      const answer = asked.result.answer
      if (asked.result.status !== 'ok') return { ...empty, error: `the agent ${asked.result.status === 'rejected' ? 'refused' : 'failed'}: ${asked.result.reason ?? 'no reason given'}` }
      if (answer?.kind !== 'page' || answer.state !== state || answer.page !== page || answer.jobs.some((job) => job.state !== state)) {
        return { ...empty, error: 'the agent answered another question: ignored' }
      }
      const jobs = answer.jobs as LiveJob[]
      return { jobs, state, page, pageSize: answer.pageSize, total: answer.total, ...(answer.error === undefined ? {} : { error: answer.error }) }
    },
    async get(record, jobId) {
      const asked = await ask(record, { kind: 'get', jobId })
      if (!asked.ok) throw new Error(asked.error)
      if (asked.result.status !== 'ok') throw new Error(`the agent ${asked.result.status === 'rejected' ? 'refused' : 'failed'}: ${asked.result.reason ?? 'no reason given'}`)
      const answer = asked.result.answer
      if (answer?.kind !== 'job' || (answer.job !== null && answer.job.id !== jobId)) throw new Error('the agent answered another question: ignored')
      return answer.job
    },
  }
}

/** The answer, if it is one to this request: the right id and node, in bounds, in shape. */
function check(raw: Buffer, asked: { id: string; service: string; nodeId: string }): Asked {
  if (raw.length > LIST_JOBS_ANSWER_MAX_BYTES) return { ok: false, error: `the agent's answer is larger than ${LIST_JOBS_ANSWER_MAX_BYTES / 1024} KB: ignored` }
  const read = readListJobsResult(raw.toString('utf8'))
  if (!read.ok) return { ok: false, error: `the agent's answer is unreadable (${read.reason}): ignored` }
  const { result } = read
  if (result.id !== asked.id || result.service !== asked.service || result.nodeId !== asked.nodeId) return { ok: false, error: 'the answer names another request or node: ignored' }
  return { ok: true, result }
}

/** An agent without LIST_JOBS: its snapshot's newest failed jobs, as one page. */
function fromSnapshot(record: QueueRecord, page: number): LiveJobPage {
  const jobs: LiveJob[] =
    page === 1
      ? (record.failedJobs ?? []).map((job) => ({
          id: job.id,
          name: job.name ?? null,
          state: 'failed',
          attemptsMade: job.attemptsMade ?? null,
          addedAt: null,
          startedAt: null,
          finishedAt: job.timestamp ?? null,
          failedReason: job.failedReason ?? null,
        }))
      : []
  return {
    jobs,
    state: 'failed',
    page,
    pageSize: LIST_JOBS_PAGE_SIZE,
    total: record.failed,
    ...(record.failed !== null && record.failed > jobs.length ? { error: `its agent reports only its newest ${jobs.length} failed jobs` } : {}),
  }
}
