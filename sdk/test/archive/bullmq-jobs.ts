/**
 * Real BullMQ jobs with every ending an attempt can have: job `i` fails its first `i % 4` attempts
 * out of 3, so a quarter completes at once, a quarter after one failure, one after two, and a
 * quarter fails all three; every other job waits for a backoff between attempts, and every third
 * reports progress while it runs.
 */
import type { Test } from 'tap'
import { Queue, Worker, type ConnectionOptions, type QueueOptions } from 'bullmq'
import { eventually } from '../../../test/helpers/eventually.js'

/** Job `i` fails its first `i % 4` attempts (a job failing three times has no attempt left). */
export const failuresOf = (i: number) => i % 4

export function expectedAttempts(ids: string[]): string[] {
  return ids
    .flatMap((id, i) => {
      const failures = failuresOf(i)
      const keys = Array.from({ length: Math.min(failures, 3) }, (_, n) => `${id}#${n + 1} failed`)
      if (failures < 3) keys.push(`${id}#${failures + 1} completed`)
      return keys
    })
    .sort()
}

export function jobRunner(connection: ConnectionOptions) {
  /** Adds `count` jobs (job `i` with data `{ i }`) and works them until each is finished; resolves their ids. */
  return async function runJobs(t: Pick<Test, 'teardown'>, name: string, count: number, opts: Parameters<Queue['add']>[2] = {}, queueOptions: Partial<QueueOptions> = {}): Promise<string[]> {
    const queue = new Queue(name, { connection, ...queueOptions })
    t.teardown(() => queue.close())
    const ids: string[] = []
    for (let i = 0; i < count; i++) {
      // every other job waits for a backoff between attempts (moveToDelayed), the rest is retried at once (retryJob)
      const job = await queue.add(`job-${i % 4}`, { i }, { attempts: 3, ...(i % 2 === 0 ? { backoff: { type: 'fixed', delay: 5 } } : {}), ...opts })
      ids.push(job.id!)
    }
    const worker = new Worker(
      name,
      async (job) => {
        // a progress event between an attempt's start and its end must not hide the end
        if ((job.data.i as number) % 3 === 0) await job.updateProgress(50)
        if (job.attemptsMade < failuresOf(job.data.i as number)) throw new Error(`boom ${job.id} attempt ${job.attemptsMade + 1}`)
        return { doubled: (job.data.i as number) * 2 }
      },
      { connection, concurrency: 8, stalledInterval: 60_000, ...(queueOptions.prefix ? { prefix: queueOptions.prefix } : {}) },
    )
    worker.on('error', () => {})
    const finals = count
    let finished = 0
    worker.on('completed', () => void finished++)
    worker.on('failed', (job) => {
      if (job && job.attemptsMade >= 3) finished++
    })
    try {
      await eventually(() => finished === finals, `${finals} jobs finished`, 60_000)
    } finally {
      await worker.close()
    }
    return ids
  }
}
