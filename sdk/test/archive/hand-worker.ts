/**
 * A BullMQ worker driven by hand (`getNextJob`, then `moveToFailed` or `moveToCompleted`), so a
 * test decides when each attempt starts and ends, and reads each attempt's times from BullMQ's
 * own events stream.
 */
import type { Test } from 'tap'
import { Worker, type ConnectionOptions, type Job, type WorkerOptions } from 'bullmq'
import type { Redis } from 'ioredis'
import { eventually } from '../../../test/helpers/eventually.js'
import type { RecordContext } from '../../src/archive/source.js'

export const context: RecordContext = { nodeId: 'n1', redactKeys: [], now: () => Date.now() }
export const TOKEN = 'hand-worker'

/** Times (stream clock) of each attempt's start and end, from the job's own events. */
export async function attemptTimes(redis: Redis, queue: string, jobId: string): Promise<{ started: number[]; ended: number[] }> {
  const entries = (await redis.xrange(`bull:${queue}:events`, '-', '+')) as [string, string[]][]
  const started: number[] = []
  const ended: number[] = []
  for (const [id, fields] of entries) {
    const field = (name: string) => fields[fields.indexOf(name) + 1]
    if (field('jobId') !== jobId) continue
    const at = Number(id.split('-')[0])
    if (field('event') === 'active') started.push(at)
    if (['completed', 'failed', 'delayed'].includes(field('event')!) || (field('event') === 'waiting' && field('prev') === 'active')) ended.push(at)
  }
  return { started, ended }
}

export async function startAttempt(worker: Worker): Promise<Job> {
  let job: Job | undefined
  await eventually(async () => (job = await worker.getNextJob(TOKEN)) !== undefined, 'the next attempt started')
  return job!
}

export function handWorker(t: Pick<Test, 'teardown'>, connection: ConnectionOptions, name: string, options: Partial<WorkerOptions> = {}): Worker {
  const worker = new Worker(name, null, { connection, ...options })
  t.teardown(() => worker.close())
  return worker
}
