/**
 * Real BullMQ queues whose jobs really failed: a Worker throws on each job's first run and
 * succeeds on any later run, so a retried job visibly runs again and completes.
 */
import { Queue, Worker, type Job } from 'bullmq'
import { eventually } from '../helpers/eventually.js'

export interface FailingQueue {
  queue: Queue
  /** ids of the jobs that failed, oldest first */
  failedIds: string[]
  /** how many times each job id ran */
  runs: Map<string, number>
  /** starts a worker that completes every job (retried jobs then run) */
  startWorker(): Promise<void>
  close(): Promise<void>
}

function connection(url: string) {
  const { hostname, port } = new URL(url)
  return { host: hostname, port: Number(port), maxRetriesPerRequest: null }
}

export async function failingQueue(url: string, name: string, count: number, prefix = 'bull'): Promise<FailingQueue> {
  const queue = new Queue(name, { connection: connection(url), prefix })
  await queue.waitUntilReady()
  const runs = new Map<string, number>()
  const run = (job: Job) => {
    const times = (runs.get(job.id!) ?? 0) + 1
    runs.set(job.id!, times)
    return times
  }
  const jobs = await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: 'send-invoice', data: { invoice: i + 1 }, opts: { attempts: 1, removeOnFail: false, removeOnComplete: false } })))
  const failer = new Worker(
    name,
    async (job) => {
      run(job)
      throw new Error(`invoice ${String((job.data as { invoice: number }).invoice)}: SMTP timeout`)
    },
    { connection: connection(url), prefix, concurrency: 5 },
  )
  failer.on('error', () => {})
  await eventually(async () => (await queue.getFailedCount()) === count, `${count} jobs failed`)
  await failer.close()

  let worker: Worker | null = null
  return {
    queue,
    failedIds: jobs.map((job) => job.id!),
    runs,
    async startWorker() {
      worker = new Worker(name, async (job) => void run(job), { connection: connection(url), prefix })
      worker.on('error', () => {})
      await worker.waitUntilReady()
    },
    async close() {
      await worker?.close()
      await queue.close()
    },
  }
}
