/**
 * A fleet of real BullMQ queues with jobs in every state, built from a seed so that each seed
 * gives other amounts per queue and another order of creation. Each queue gets 0, 1 or several
 * jobs of each kind, so the number of commands a reader queues per queue varies from queue to
 * queue: the layout that shifted replies in the old reader.
 *
 * - failed and completed: processed by a real worker that throws (a real stack) or returns;
 * - active: taken by a worker whose concurrency they fill, held on a promise released by `close`,
 *   so that worker takes nothing else;
 * - waiting, prioritized, delayed, waiting-children (flow parents, their child in any queue of the
 *   fleet) and `queue.pause()`: one list of additions across all queues, shuffled, so the queues'
 *   additions interleave. Every addition gets its own `timestamp`, rising in the order made, and
 *   priorities rise too: in each queue the next job in line (tail of `wait`, head of
 *   `prioritized`) is also its oldest, so the oldest waiting job is known exactly.
 */
import { FlowProducer, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq'
import { seededRandom, shuffled } from '../helpers/shuffle.js'

export const JOB_KINDS = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed', 'parents'] as const
export type JobKind = (typeof JOB_KINDS)[number]

export interface QueuePlan {
  readonly name: string
  readonly amounts: Record<JobKind, number>
  readonly paused: boolean
  /** held jobs taken before the failed and completed ones are processed, or after */
  readonly activeFirst: boolean
}

export interface FailedJobMade {
  readonly id: string
  readonly name: string
  readonly reason: string
}

export interface BuiltQueue {
  readonly plan: QueuePlan
  readonly queue: Queue
  readonly failed: FailedJobMade[]
  /** `timestamp` of every job added to wait for a worker here (waiting, prioritized, flow children) */
  readonly readyTimestamps: number[]
  /** flow children of other queues' parents that landed here */
  children: number
}

export interface Fleet {
  readonly queues: BuiltQueue[]
  /** the newest timestamp given to a job; a clock past it sees every age as positive */
  readonly lastTimestamp: number
  close(): Promise<void>
}

/** 0, 1 or several of a kind, zero and one most often so most queues differ in shape */
function amount(random: () => number): number {
  return [0, 0, 1, 1, 2, 3][Math.floor(random() * 6)]!
}

export function planFleet(seed: number, size: number): QueuePlan[] {
  const random = seededRandom(seed)
  return Array.from({ length: size }, (_, i) => ({
    name: `fleet-${seed}-${String(i).padStart(2, '0')}`,
    amounts: Object.fromEntries(JOB_KINDS.map((kind) => [kind, amount(random)])) as Record<JobKind, number>,
    paused: random() < 0.3,
    activeFirst: random() < 0.5,
  }))
}

/**
 * A failure reason unique to its queue and job: short, over the protocol's 2,048-character cut,
 * or over the 64 KB a reader reads at all. Multibyte, so bytes and characters differ.
 */
function reasonFor(queue: string, n: number, random: () => number): string {
  const length = [80, 2_500, 70_000][Math.floor(random() * 3)]!
  const head = `${queue} job ${n} refused: `
  return head + 'décliné '.repeat(Math.ceil(length / 8)).slice(0, Math.max(0, length - head.length))
}

export interface FleetOptions {
  /** BullMQ's `prefix` for every queue (its default, `bull`, when absent) */
  prefix?: string
  /**
   * a flow's child goes to its parent's queue: on a Cluster a flow is written by one script, so
   * parent and child must share a slot, which queues tagged by name (`{emails}`) do not
   */
  childInOwnQueue?: boolean
}

export async function buildFleet(seed: number, plans: readonly QueuePlan[], connection: ConnectionOptions, firstTimestamp: number, options: FleetOptions = {}): Promise<Fleet> {
  const queueOptions = { connection, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) }
  const random = seededRandom(seed * 7919)
  const workers: Worker[] = []
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  const flows = new FlowProducer(queueOptions)
  const built = new Map<string, BuiltQueue>(plans.map((plan) => [plan.name, { plan, queue: new Queue(plan.name, queueOptions), failed: [], readyTimestamps: [], children: 0 }]))

  async function finish(item: BuiltQueue): Promise<void> {
    const { name, amounts } = item.plan
    const fates = shuffled([...Array<string>(amounts.failed).fill('fail'), ...Array<string>(amounts.completed).fill('complete')], random)
    if (fates.length === 0) return
    const reasons = new Map<string, string>()
    const jobs = await item.queue.addBulk(
      fates.map((fate, n) => {
        const jobName = `${fate}-${name}-${n}`
        if (fate === 'fail') reasons.set(jobName, reasonFor(name, n, random))
        return { name: jobName, data: { fate, n } }
      }),
    )
    for (const job of jobs) {
      const reason = reasons.get(job.name)
      if (reason !== undefined) item.failed.push({ id: job.id!, name: job.name, reason })
    }
    const worker = new Worker(
      name,
      async (job: Job) => {
        const reason = reasons.get(job.name)
        if (reason !== undefined) throw new Error(reason)
        return 'done'
      },
      queueOptions,
    )
    worker.on('error', () => {})
    // 'failed' and 'completed' are emitted once the job has moved: after the last one, all are in place
    await new Promise<void>((resolve) => {
      let settled = 0
      const one = () => ++settled === fates.length && resolve()
      worker.on('failed', one)
      worker.on('completed', one)
    })
    await worker.close()
  }

  async function hold(item: BuiltQueue): Promise<void> {
    const { name, amounts } = item.plan
    if (amounts.active === 0) return
    let started = 0
    let allStarted!: () => void
    const taken = new Promise<void>((resolve) => (allStarted = resolve))
    await item.queue.addBulk(Array.from({ length: amounts.active }, (_, n) => ({ name: `hold-${name}-${n}`, data: { n } })))
    // every slot held: the worker takes no other job until `close`
    const worker = new Worker(
      name,
      async () => {
        if (++started === amounts.active) allStarted()
        await held
      },
      { ...queueOptions, concurrency: amounts.active },
    )
    worker.on('error', () => {})
    workers.push(worker)
    await taken
  }

  for (const item of shuffled([...built.values()], random)) {
    if (item.plan.activeFirst) {
      await hold(item)
      await finish(item)
    } else {
      await finish(item)
      await hold(item)
    }
  }

  type Addition = { queue: BuiltQueue; kind: 'waiting' | 'delayed' | 'prioritized' | 'parents' | 'pause'; n: number }
  const additions: Addition[] = []
  for (const item of built.values()) {
    for (const kind of ['waiting', 'delayed', 'prioritized', 'parents'] as const) {
      for (let n = 0; n < item.plan.amounts[kind]; n++) additions.push({ queue: item, kind, n })
    }
    if (item.plan.paused) additions.push({ queue: item, kind: 'pause', n: 0 })
  }
  const everyQueue = [...built.values()]
  const priorities = new Map<string, number>()
  let timestamp = firstTimestamp
  for (const { queue: item, kind, n } of shuffled(additions, random)) {
    const { name } = item.plan
    timestamp += 1_000
    if (kind === 'pause') await item.queue.pause()
    else if (kind === 'waiting') {
      await item.queue.add(`wait-${name}-${n}`, { n }, { timestamp })
      item.readyTimestamps.push(timestamp)
    } else if (kind === 'prioritized') {
      const priority = (priorities.get(name) ?? 0) + 1
      priorities.set(name, priority)
      await item.queue.add(`prio-${name}-${n}`, { n }, { timestamp, priority })
      item.readyTimestamps.push(timestamp)
    } else if (kind === 'delayed') {
      // due long after the test: no worker promotes it
      await item.queue.add(`later-${name}-${n}`, { n }, { timestamp, delay: 86_400_000 })
    } else {
      const childQueue = options.childInOwnQueue ? item : everyQueue[Math.floor(random() * everyQueue.length)]!
      await flows.add({
        name: `parent-${name}-${n}`,
        queueName: name,
        data: { n },
        opts: { timestamp },
        children: [{ name: `child-of-${name}-${n}`, queueName: childQueue.plan.name, data: { n }, opts: { timestamp } }],
      })
      childQueue.readyTimestamps.push(timestamp)
      childQueue.children++
    }
  }

  return {
    queues: [...built.values()],
    lastTimestamp: timestamp,
    async close() {
      release()
      await Promise.all(workers.map((worker) => worker.close()))
      await Promise.all([...built.values()].map(({ queue }) => queue.close()))
      await flows.close()
    },
  }
}
