/**
 * Real BullMQ queues in every state a queue can hold at once (waiting, active, delayed,
 * prioritized, paused, failed, completed, waiting-children), built from a seed: which queue holds
 * how many jobs in which state, under which key prefix, and in which order queues and states are
 * created. Discovery reads every queue in one pipeline, so a reader that pairs replies with the
 * wrong queue shows up only with many queues whose states differ; the seed varies exactly that.
 *
 * Jobs end up where they are meant to be without races: failed and completed jobs are taken one by
 * one by a manual worker (`getNextJob`), after being added with `lifo` so they are next in line
 * whatever waits already; active jobs are held by a real worker whose processor waits on a promise
 * the fixture controls, at a concurrency equal to the number it must hold. Pausing comes last:
 * a paused queue hands out no job.
 */
import { FlowProducer, Queue, Worker, type Job } from 'bullmq'
import { seededRandom, shuffled } from '../helpers/shuffle.js'

export const STATES = ['waiting', 'prioritized', 'delayed', 'failed', 'completed', 'waiting-children', 'active'] as const
export type BuiltState = (typeof STATES)[number]

export interface QueueSpec {
  prefix: string
  name: string
  /** jobs per state; `waiting-children` counts parents, each with `childrenPerParent` children waiting in the same queue */
  jobs: Record<BuiltState, number>
  childrenPerParent: number
  paused: boolean
  /** the order its states are created in */
  order: BuiltState[]
}

/** what a queue's counts should read, by PROTOCOL.md's rule for the bullmq driver */
export interface ExpectedCounts {
  waiting: number
  active: number
  delayed: number
  failed: number
  completed: number
  paused: number
}

const NAMES = ['emails', 'invoices-pdf', 'reports', 'webhooks', 'thumbnails', 'exports', 'imports', 'search-index', 'payouts', 'notifications', 'sms', 'audits', 'billing-sync', 'cleanup']
const PREFIXES = ['bull', 'bull', 'bull', 'jobs']
/** long enough that no delayed job comes due while a test runs */
const DELAY_MS = 6 * 3_600_000

/**
 * `count` queues (names taken from a shuffled list, so at most NAMES.length), each with random
 * numbers of jobs per state; queue i is given at least one job in state i mod 7, and one queue in
 * four is paused, so every state is present whatever the seed.
 */
export function queueSpecs(seed: number, count: number): QueueSpec[] {
  const random = seededRandom(seed)
  const upTo = (max: number) => Math.floor(random() * (max + 1))
  return shuffled(NAMES, random)
    .slice(0, count)
    .map((name, i) => {
      const jobs = {
        waiting: upTo(5),
        prioritized: upTo(4),
        delayed: upTo(4),
        failed: upTo(4),
        completed: upTo(4),
        'waiting-children': upTo(2),
        active: upTo(2),
      } satisfies Record<BuiltState, number>
      const forced = STATES[i % STATES.length]!
      jobs[forced] = Math.max(1, jobs[forced])
      return {
        prefix: PREFIXES[Math.floor(random() * PREFIXES.length)]!,
        name,
        jobs,
        childrenPerParent: 1 + upTo(1),
        paused: i % 4 === 1,
        order: shuffled(STATES, random),
      }
    })
}

export interface BuiltFleet {
  queues: Map<QueueSpec, Queue>
  /** lets the held active jobs finish and closes every worker, queue and flow producer */
  close(): Promise<void>
}

/** Builds the queues in a seeded order of queues, each in its own order of states. */
export async function buildBullmqFleet(redisUrl: string, specs: readonly QueueSpec[], seed: number): Promise<BuiltFleet> {
  const connection = { url: redisUrl }
  const queues = new Map<QueueSpec, Queue>()
  const holders: Worker[] = []
  const flows = new FlowProducer({ connection })
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const closeAll = async () => {
    // forced: a held job must not be finished by a closing worker, and nothing waits for it
    await Promise.all(holders.map((worker) => worker.close(true)))
    release()
    await Promise.all([...queues.values()].map((queue) => queue.close()))
    await flows.close()
  }
  try {
    for (const spec of shuffled(specs, seededRandom(seed ^ 0x5eed))) {
      const queue = new Queue(spec.name, { connection, prefix: spec.prefix })
      queues.set(spec, queue)
      const manual = new Worker(spec.name, null, { connection, prefix: spec.prefix, autorun: false })
      try {
        for (const state of spec.order) await createState(spec, state, queue, manual, flows, () => startHolder(spec, connection, held, holders))
      } finally {
        await manual.close()
      }
      if (spec.paused) await queue.pause()
    }
  } catch (error) {
    await closeAll()
    throw error
  }
  return { queues, close: closeAll }
}

async function createState(spec: QueueSpec, state: BuiltState, queue: Queue, manual: Worker, flows: FlowProducer, hold: () => Promise<void>): Promise<void> {
  const count = spec.jobs[state]
  if (count === 0) return
  const numbered = (name: string, opts: Record<string, unknown> = {}) => Array.from({ length: count }, (_, n) => ({ name, data: { n }, opts }))
  switch (state) {
    case 'waiting':
      await queue.addBulk(numbered('send'))
      return
    case 'prioritized':
      await queue.addBulk(Array.from({ length: count }, (_, n) => ({ name: 'urgent', data: { n }, opts: { priority: 1 + n } })))
      return
    case 'delayed':
      await queue.addBulk(numbered('later', { delay: DELAY_MS }))
      return
    case 'failed':
    case 'completed':
      for (let n = 0; n < count; n++) await finishNext(queue, manual, state)
      return
    case 'waiting-children':
      for (let n = 0; n < count; n++) {
        await flows.add({
          name: 'assemble',
          queueName: spec.name,
          prefix: spec.prefix,
          data: { n },
          children: Array.from({ length: spec.childrenPerParent }, (_, c) => ({ name: 'part', queueName: spec.name, prefix: spec.prefix, data: { n, c } })),
        })
      }
      return
    case 'active':
      await queue.addBulk(numbered('hold', { lifo: true }))
      await hold()
  }
}

/** adds one job at the head of the line and takes it by hand, so no other job moves */
async function finishNext(queue: Queue, manual: Worker, state: 'failed' | 'completed'): Promise<void> {
  const token = `fixture-${state}`
  await queue.add(state === 'failed' ? 'will-fail' : 'will-complete', {}, { lifo: true })
  const job = (await manual.getNextJob(token, { block: false })) as Job | undefined
  if (!job || job.name !== (state === 'failed' ? 'will-fail' : 'will-complete')) throw new Error(`fixture took ${job?.name ?? 'no job'} instead of the job it added`)
  if (state === 'failed') await job.moveToFailed(new Error('card declined'), token)
  else await job.moveToCompleted('done', token, false)
}

/** a worker that takes exactly the `hold` jobs just added and keeps them active */
async function startHolder(spec: QueueSpec, connection: { url: string }, held: Promise<void>, holders: Worker[]): Promise<void> {
  const count = spec.jobs.active
  let taken = 0
  let wrong: string | null = null
  let allTaken: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    allTaken = resolve
  })
  const worker = new Worker(
    spec.name,
    async (job) => {
      if (job.name !== 'hold') wrong = job.name
      if (++taken === count) allTaken()
      await held
    },
    { connection, prefix: spec.prefix, concurrency: count },
  )
  worker.on('error', () => {})
  holders.push(worker)
  await ready
  if (wrong) throw new Error(`holder of ${spec.name} took a ${wrong} job`)
}

/** What the fixture meant to build, in BullMQ's own terms (`getJobCounts`). */
export function intendedJobCounts(spec: QueueSpec): Record<string, number> {
  const { jobs } = spec
  return {
    active: jobs.active,
    completed: jobs.completed,
    delayed: jobs.delayed,
    failed: jobs.failed,
    prioritized: jobs.prioritized,
    waiting: jobs.waiting + jobs['waiting-children'] * spec.childrenPerParent,
    'waiting-children': jobs['waiting-children'],
  }
}

/**
 * BullMQ's own counts mapped by PROTOCOL.md's rule for the bullmq driver: `waiting` is the wait
 * list plus the prioritized set, shown as `paused` instead while the queue is paused;
 * waiting-children are neither.
 */
export async function expectedCounts(queue: Queue): Promise<ExpectedCounts> {
  const counts = await queue.getJobCounts()
  const ready = counts.waiting! + counts.prioritized!
  const paused = await queue.isPaused()
  return {
    waiting: paused ? 0 : ready,
    active: counts.active!,
    delayed: counts.delayed!,
    failed: counts.failed!,
    completed: counts.completed!,
    paused: paused ? ready : 0,
  }
}
