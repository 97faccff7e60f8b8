/**
 * LIST_JOBS: the console asks an agent for a page of one queue's jobs in one state, or for one job
 * in full. It travels as any command does (signed, on the node's stream, claimed once, paced by
 * the agent's rate limit) and changes nothing. The request is inside the signed fields: `jobId`
 * holds `list:{state}:{page}` or `get:{jobId}`, so no new field changes the canonical string, and
 * an agent that does not know the type refuses it as it refuses any unknown type.
 *
 * The agent answers in the command's result key (`cmdres:{service}:{id}`) with an `answer` beside
 * the usual fields, at most LIST_JOBS_ANSWER_MAX_BYTES, kept LIST_JOBS_ANSWER_TTL_SECONDS: the
 * console waits for it a few seconds, and nobody reads it later. Lists never carry payloads.
 */
import { z } from 'zod'
import { commandResultSchema, jobIdSchema } from './commands.js'
import { parseAgentJson } from './json.js'

export const LIST_JOBS = 'LIST_JOBS'

/** Every state a job can be listed in; a queue that cannot list one answers with an `error`. */
export const LIST_JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused', 'completed', 'failed'] as const
export type ListJobState = (typeof LIST_JOB_STATES)[number]

/** Rows per page. */
export const LIST_JOBS_PAGE_SIZE = 50
export const LIST_JOBS_MAX_PAGE = 10_000
/** Largest answer a reader accepts (UTF-8 bytes of the whole result JSON). */
export const LIST_JOBS_ANSWER_MAX_BYTES = 64 * 1024
export const LIST_JOBS_ANSWER_TTL_SECONDS = 60
/** A job's detail: the last log lines, and the characters kept of each. */
export const LIST_JOBS_LOG_LINES = 100
export const LIST_JOBS_LOG_LINE_CHARS = 2048

export type ListJobsRequest = { kind: 'list'; state: ListJobState; page: number } | { kind: 'get'; jobId: string }

/** The `jobId` of a LIST_JOBS command. */
export function listJobsRequestId(request: ListJobsRequest): string {
  return request.kind === 'list' ? `list:${request.state}:${request.page}` : `get:${request.jobId}`
}

/** The request a LIST_JOBS `jobId` names; null for anything else. */
export function parseListJobsRequest(jobId: string): ListJobsRequest | null {
  if (jobId.startsWith('get:')) {
    const id = jobId.slice(4)
    return jobIdSchema.safeParse(id).success ? { kind: 'get', jobId: id } : null
  }
  const match = /^list:([a-z-]+):([1-9][0-9]{0,4})$/.exec(jobId)
  if (!match) return null
  const state = match[1] as ListJobState
  const page = Number(match[2])
  return LIST_JOB_STATES.includes(state) && page <= LIST_JOBS_MAX_PAGE ? { kind: 'list', state, page } : null
}

const time = z.number().finite().nonnegative().nullable()
const text = (max: number) => z.string().max(max)

/** A job in a list: never its payload. */
export const listedJobSchema = z.object({
  id: jobIdSchema,
  name: text(256).nullable(),
  state: z.enum(LIST_JOB_STATES),
  attemptsMade: z.number().int().nonnegative().max(1e9).nullable(),
  addedAt: time,
  startedAt: time,
  finishedAt: time,
  dueAt: time.optional(),
  failedReason: text(2048).nullable().optional(),
})
export type ListedJob = z.infer<typeof listedJobSchema>

/** One job in full, bounded like an archive record. */
export const jobDetailSchema = listedJobSchema.extend({
  data: text(20_000).nullable(),
  opts: text(8192).nullable(),
  result: text(8192).nullable(),
  stacks: z.array(text(8192 + 64)).max(10),
  logs: z.array(text(LIST_JOBS_LOG_LINE_CHARS + 64)).max(LIST_JOBS_LOG_LINES),
})
export type JobDetail = z.infer<typeof jobDetailSchema>

export const listJobsPageSchema = z.object({
  kind: z.literal('page'),
  state: z.enum(LIST_JOB_STATES),
  page: z.number().int().min(1).max(LIST_JOBS_MAX_PAGE),
  pageSize: z.number().int().min(1).max(LIST_JOBS_PAGE_SIZE),
  total: z.number().int().nonnegative().max(1e12).nullable(),
  jobs: z.array(listedJobSchema).max(LIST_JOBS_PAGE_SIZE),
  /** why the state cannot be listed (the driver keeps no such jobs in Redis…) */
  error: text(512).optional(),
})
export type ListJobsPage = z.infer<typeof listJobsPageSchema>

export const listJobsAnswerSchema = z.discriminatedUnion('kind', [listJobsPageSchema, z.object({ kind: z.literal('job'), job: jobDetailSchema.nullable() })])
export type ListJobsAnswer = z.infer<typeof listJobsAnswerSchema>

/** What the agent writes to the result key: a command result with the answer beside it. */
export const listJobsResultSchema = commandResultSchema.extend({ answer: listJobsAnswerSchema.optional() })
export type ListJobsResult = z.infer<typeof listJobsResultSchema>

/** Reads a LIST_JOBS result: the result, or why it is not one (too large, not JSON, not the shape). */
export function readListJobsResult(raw: string): { ok: true; result: ListJobsResult } | { ok: false; reason: string } {
  const json = parseAgentJson(raw, LIST_JOBS_ANSWER_MAX_BYTES)
  if (!json.ok) return { ok: false, reason: json.error }
  const parsed = listJobsResultSchema.safeParse(json.value)
  if (!parsed.success) return { ok: false, reason: `not a LIST_JOBS answer (${parsed.error.issues[0]?.path.join('.') || 'shape'})` }
  return { ok: true, result: parsed.data }
}

/**
 * Cuts an answer until its result fits LIST_JOBS_ANSWER_MAX_BYTES: a job's oldest log lines
 * first, then its oldest stacks, then its data; a page's last rows. `wrap` builds the result
 * around the answer, so what is measured is what is written.
 */
export function fitListJobsAnswer(answer: ListJobsAnswer, wrap: (answer: ListJobsAnswer) => unknown): ListJobsAnswer {
  const fits = (candidate: ListJobsAnswer) => Buffer.byteLength(JSON.stringify(wrap(candidate))) <= LIST_JOBS_ANSWER_MAX_BYTES
  if (fits(answer)) return answer
  if (answer.kind === 'page') {
    const jobs = answer.jobs.map((job) => ({ ...job, failedReason: job.failedReason ? job.failedReason.slice(0, 256) : (job.failedReason ?? null) }))
    let page: ListJobsPage = { ...answer, jobs }
    while (page.jobs.length > 0 && !fits(page)) page = { ...page, jobs: page.jobs.slice(0, -1) }
    return page
  }
  if (!answer.job) return answer
  let job = { ...answer.job }
  const size = (lines: readonly string[]) => lines.reduce((sum, line) => sum + line.length, 0)
  // the larger of the two gives up its oldest entries first, so neither is emptied for the other
  while (!fits({ kind: 'job', job })) {
    if (job.logs.length > 0 && (size(job.logs) >= size(job.stacks) || job.stacks.length <= 1)) job = { ...job, logs: job.logs.slice(Math.max(1, Math.floor(job.logs.length / 4))) }
    else if (job.stacks.length > 1) job = { ...job, stacks: job.stacks.slice(1) }
    else break
  }
  if (!fits({ kind: 'job', job })) job = { ...job, data: job.data === null ? null : JSON.stringify('[data cut to fit the answer]'), result: null, opts: null, stacks: job.stacks.map((stack) => stack.slice(0, 2048)) }
  return { kind: 'job', job }
}
