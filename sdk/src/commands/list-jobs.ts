/**
 * The agent's answer to LIST_JOBS (../protocol/list-jobs.ts): the request is read from the signed
 * `jobId`, asked of the queue's probe, and the answer cut to LIST_JOBS_ANSWER_MAX_BYTES. Never
 * throws: a probe that fails answers `failed` with its one-line reason.
 */
import { fitListJobsAnswer, LIST_JOBS_ANSWER_TTL_SECONDS, LIST_JOBS_PAGE_SIZE, parseListJobsRequest, type CommandResult, type ListJobsAnswer, type ListJobsResult, type SignedCommand } from '../protocol/index.js'
import type { QueueProbe } from '../queues/probe.js'

type Outcome = (status: 'ok' | 'failed' | 'rejected', reason?: string) => CommandResult

export async function answerListJobs(command: SignedCommand, probe: QueueProbe | undefined, outcome: Outcome): Promise<{ result: ListJobsResult; ttlSeconds: number }> {
  const answered = (result: ListJobsResult) => ({ result, ttlSeconds: LIST_JOBS_ANSWER_TTL_SECONDS })
  const request = parseListJobsRequest(command.jobId)
  if (!request) return answered(outcome('rejected', 'malformed LIST_JOBS request: jobId must be list:{state}:{page} or get:{jobId}'))
  if (!probe) return answered(outcome('rejected', `unknown queue ${command.queue} on this node`))
  const { listJobs, getJob } = probe
  if (request.kind === 'list' && !listJobs) return answered(outcome('rejected', `queue ${command.queue} (${probe.driver}) cannot list its jobs`))
  if (request.kind === 'get' && !getJob) return answered(outcome('rejected', `queue ${command.queue} (${probe.driver}) cannot show one job`))
  let answer: ListJobsAnswer
  try {
    answer = request.kind === 'list' ? { kind: 'page', ...(await listJobs!.call(probe, request.state, request.page, LIST_JOBS_PAGE_SIZE)) } : { kind: 'job', job: await getJob!.call(probe, request.jobId) }
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    return answered(outcome('failed', (text.split('\n')[0] ?? '').slice(0, 512) || 'failed without a message'))
  }
  const base = outcome('ok')
  return answered({ ...base, answer: fitListJobsAnswer(answer, (fitted) => ({ ...base, answer: fitted })) })
}
