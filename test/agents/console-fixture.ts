/**
 * A reference agent (examples/) of one kind and a console that can sign commands, both on the
 * test's Redis, and a plan of jobs in every state the agent's job store has.
 */
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { TOKEN } from '../commands/signed.js'
import { referenceAgent, type AgentKind, type ReferenceAgent } from './reference-agent.js'

export interface PlannedJob {
  queue: string
  name: string
  /** failed attempts before it succeeds; 99: it never does */
  failTimes: number
}

/** Jobs in every state the store has, enqueued in an order that differs per seed. */
export function plan(seed: number): PlannedJob[] {
  const jobs: PlannedJob[] = []
  for (const queue of ['mail', 'reports']) {
    for (let i = 0; i < 3; i++) jobs.push({ queue, name: `send-${queue}-${i}`, failTimes: 0 })
    for (let i = 0; i < 2; i++) jobs.push({ queue, name: `flaky-${queue}-${i}`, failTimes: 1 })
    jobs.push({ queue, name: `broken-${queue}`, failTimes: 99 })
  }
  // a fixed shuffle per seed: every agent sees its jobs arrive in another order
  return jobs
    .map((job, i) => ({ job, key: (i * 7919 + seed * 104729) % 97 }))
    .sort((a, b) => a.key - b.key)
    .map(({ job }) => job)
}

export async function startAgentAndConsole(t: Test, redisUrl: string, kind: AgentKind, service: string) {
  const agent = referenceAgent(kind, {
    REDIS_URL: redisUrl,
    SERVICE: service,
    NODE_ID: `${kind}-node-1`,
    QUASAR_TOKEN: TOKEN,
    QUEUES: 'mail,reports',
    JOB_STORE: `store:${service}`,
    SLOW_MS: '0', // every job run is a slow entry, so the slow log is exact, not timing-dependent
  })
  const app = await buildTestApp({ redisUrl, quasarToken: TOKEN })
  t.teardown(() => app.close())
  return { agent, app }
}

/** Enqueues the plan, lets the agent run it all, then enqueues `waiting` more per queue. */
export async function runPlan(agent: ReferenceAgent, jobs: PlannedJob[], waiting: number) {
  const ids = new Map<string, string>()
  for (const job of jobs) ids.set(job.name, await agent.enqueue(job.queue, job.name, job.failTimes ? { failTimes: job.failTimes, error: `${job.name} failed: SMTP timeout` } : { to: job.name }))
  const run = await agent.once()
  if (run.code !== 0) throw new Error(`${agent.kind} agent --once failed: ${run.stderr}`)
  for (const queue of ['mail', 'reports']) for (let i = 0; i < waiting; i++) await agent.enqueue(queue, `later-${queue}-${i}`)
  return ids
}

export async function refreshUntil(app: FastifyInstance, check: () => Promise<boolean>, what: string) {
  await eventually(async () => {
    await app.collector.refresh()
    return check()
  }, what)
}

export const get = async (app: FastifyInstance, url: string) => (await app.inject(url)).json()
