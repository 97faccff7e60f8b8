/**
 * A BullMQ queue's jobs for LIST_JOBS: a page of one state and one job in full, read from
 * BullMQ's keys the way the console reads a discovered queue (the shared layout in
 * ../layouts/bullmq-jobs.ts): the page of ids and the count in one round trip, the hashes' small
 * fields and measured big ones in two more (./hashes.ts, so a 10 MB payload is never fetched), the
 * log cut inside Redis by a script.
 */
import type { AgentRedis } from '../client.js'
import { JOB_RECORD_LIMITS, type JobDetail, type ListJobsPage, type ListJobState } from '../protocol/index.js'
import {
  BULLMQ_DETAIL_FIELDS,
  BULLMQ_LOG_TAIL,
  BULLMQ_LOG_TAIL_ARGS,
  BULLMQ_ROW_FIELDS,
  BULLMQ_ROW_REASON_CHARS,
  BULLMQ_STATE_KEYS,
  boundedJsonField,
  bullmqGuessState,
  bullmqJobRow,
  bullmqLogLines,
  bullmqLogsKey,
  bullmqStacks,
  bullmqStateKey,
  type BullmqKeys,
} from '../layouts/index.js'
import { Batch, countOf, valueOf } from './pipeline.js'
import { bigText, readHashes } from './hashes.js'
import { luaScript, runScript } from './scripts.js'
import { clip } from './limits.js'

const LOG_TAIL = luaScript(BULLMQ_LOG_TAIL, 1)
const STATE_SEARCH_DEPTH = 100_000

export function createBullmqJobReader(redis: AgentRedis, keys: BullmqKeys) {
  async function listJobs(state: ListJobState, page: number, pageSize: number): Promise<Omit<ListJobsPage, 'kind'>> {
    const { key, type } = bullmqStateKey(keys, state)
    const start = (page - 1) * pageSize
    const stop = start + pageSize - 1
    const first = new Batch(redis)
    const total = first.add(key, (p) => (type === 'list' ? p.llen(key) : p.zcard(key)))
    const range = first.add(key, (p) => (type === 'list' ? p.lrange(key, start, stop) : p.zrevrange(key, start, stop, 'WITHSCORES')))
    const replies = await first.run()
    const count = countOf(replies[total])
    const raw = valueOf(replies[range])
    const ids: { id: string; score: number | null }[] = []
    if (Array.isArray(raw)) {
      if (type === 'list') for (const id of raw) ids.push({ id: String(id), score: null })
      else for (let i = 0; i + 1 < raw.length; i += 2) ids.push({ id: String(raw[i]), score: Number(raw[i + 1]) })
    }
    const hashes = await readHashes(
      redis,
      ids.map(({ id }) => ({ key: keys.job(id), small: BULLMQ_ROW_FIELDS, big: state === 'failed' ? ['failedReason'] : [] })),
    )
    const jobs = ids.flatMap(({ id, score }, n) => {
      const hash = hashes[n]
      const row = hash ? bullmqJobRow(id, state, hash.small, score) : null
      if (!row) return []
      const reason = hash && state === 'failed' ? bigText(hash.big[0] ?? null) : undefined
      if (reason !== undefined) row.failedReason = clip(reason, BULLMQ_ROW_REASON_CHARS)
      return [row]
    })
    return { state, page, pageSize, total: count, jobs }
  }

  async function getJob(jobId: string): Promise<JobDetail | null> {
    const first = new Batch(redis)
    const membership = (Object.keys(BULLMQ_STATE_KEYS) as ListJobState[]).map((state) => {
      const { key, type } = bullmqStateKey(keys, state)
      return { state, type, at: first.add(key, (p) => (type === 'list' ? p.call('LPOS', key, jobId, 'MAXLEN', STATE_SEARCH_DEPTH) : p.zscore(key, jobId))) }
    })
    const [replies, hashes, logs] = await Promise.all([
      first.run(),
      readHashes(redis, [{ key: keys.job(jobId), small: BULLMQ_ROW_FIELDS, big: BULLMQ_DETAIL_FIELDS }]),
      runScript(redis, LOG_TAIL, [bullmqLogsKey(keys, jobId)], [...BULLMQ_LOG_TAIL_ARGS]).catch(() => null),
    ])
    const hash = hashes[0]
    if (!hash) return null
    const found = membership.find(({ at }) => replies[at]?.ok && replies[at].value !== null)
    const state = found?.state ?? bullmqGuessState(hash.small)
    const score = found && found.type === 'zset' ? Number((replies[found.at] as { value: unknown }).value) : null
    const row = bullmqJobRow(jobId, state, hash.small, score)
    if (!row) return null
    const [data, opts, returnvalue, stacktrace, failedReason] = hash.big.map((field) => bigText(field ?? null) ?? null)
    return {
      ...row,
      failedReason: failedReason === null || failedReason === undefined ? null : clip(failedReason, JOB_RECORD_LIMITS.reason),
      data: boundedJsonField(data ?? null, JOB_RECORD_LIMITS.data),
      opts: boundedJsonField(opts ?? null, JOB_RECORD_LIMITS.opts),
      result: boundedJsonField(returnvalue ?? null, JOB_RECORD_LIMITS.result),
      stacks: bullmqStacks(stacktrace ?? null),
      logs: bullmqLogLines(logs),
    }
  }

  return { listJobs, getJob }
}
