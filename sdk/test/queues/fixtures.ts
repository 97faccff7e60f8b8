/**
 * Real BullMQ jobs in real states: failures come from a worker that really throws, completions
 * from one that really returns. Workers are closed before the caller looks, so nothing moves
 * while a probe reads.
 */
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq'
import { eventually } from '../../../test/helpers/eventually.js'

export function connectionOf(url: string): ConnectionOptions {
  const { hostname, port } = new URL(url)
  return { host: hostname, port: Number(port) }
}

/** Runs one worker over whatever is waiting until `done` holds, then closes it. */
export async function work(queue: Queue, processor: (job: Job) => Promise<unknown>, done: () => Promise<boolean>, what: string): Promise<void> {
  const worker = new Worker(queue.name, processor, { connection: queue.opts.connection, prefix: queue.opts.prefix })
  worker.on('error', () => {})
  try {
    await eventually(done, what)
  } finally {
    await worker.close()
  }
}

/** Adds jobs and lets a worker fail them all; returns them newest-failed first, as BullMQ lists them. */
export async function failJobs(queue: Queue, jobs: { name: string; data: unknown; opts?: Parameters<Queue['add']>[2] }[], message = 'boom'): Promise<Job[]> {
  const before = await queue.getFailedCount()
  for (const job of jobs) await queue.add(job.name, job.data, job.opts)
  await work(
    queue,
    async (job) => {
      await job.log(`attempt for ${job.id}`)
      throw new Error(`${message} ${job.id}`)
    },
    async () => (await queue.getFailedCount()) === before + jobs.length,
    `${jobs.length} jobs failed`,
  )
  return queue.getFailed(0, -1)
}
