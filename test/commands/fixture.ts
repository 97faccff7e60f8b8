/**
 * A console that can sign commands (QUASAR_TOKEN set), real agents monitoring real BullMQ queues
 * whose jobs really failed, and a users file with an operator and a viewer.
 */
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startPulse, type QuasarAgent } from '@gravito/quasar'
import { buildTestApp, type TestAppOptions } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { login, probeRoutes, writeUsersFile } from '../auth/helpers.js'
import { findQueue } from '../../server/queues/service.js'
import { failingQueue, type FailingQueue } from './bullmq.js'
import { TOKEN } from './signed.js'
import { COMMAND_FIELD, isReadCommandType } from '@gravito/quasar/protocol'

export const USERS = [
  { username: 'olivia', password: 'operator-password-1', role: 'operator' },
  { username: 'victor', password: 'viewer-password-1', role: 'viewer' },
]

let usersFile: Promise<string> | null = null

export async function startConsole(t: Test, options: Partial<TestAppOptions> & { redisUrl: string; users?: boolean }): Promise<FastifyInstance> {
  const { users, ...rest } = options
  const app = await buildTestApp({
    quasarToken: TOKEN,
    ...(users ? { usersFile: await (usersFile ??= writeUsersFile(USERS)) } : {}),
    routes: probeRoutes,
    ...rest,
  })
  t.teardown(() => app.close())
  return app
}

/** A logged-in user's session cookie and CSRF token. */
export function loginAs(app: FastifyInstance, username: 'olivia' | 'victor') {
  const user = USERS.find((u) => u.username === username)!
  return login(app, { username, password: user.password })
}

export interface Worker {
  agent: QuasarAgent
  queue: FailingQueue
  service: string
  nodeId: string
  name: string
  errors: unknown[]
}

let queueNumber = 0

/** A BullMQ queue with `failures` failed jobs, and an agent of `service`/`nodeId` monitoring it. */
export async function startWorker(t: Test, options: { redisUrl: string; service?: string; nodeId?: string; failures: number; failedPageSize?: number; token?: string }): Promise<Worker> {
  const service = options.service ?? 'billing'
  const nodeId = options.nodeId ?? 'worker-1'
  const name = `emails-${process.pid}-${++queueNumber}`
  const queue = await failingQueue(options.redisUrl, name, options.failures)
  t.teardown(() => queue.close())
  const errors: unknown[] = []
  const agent = startPulse({ service, nodeId, url: options.redisUrl, token: options.token ?? TOKEN, intervalMs: 300, onError: (error) => void errors.push(error) })
  agent.monitorQueue(name, 'bullmq', options.failedPageSize === undefined ? {} : { failedPageSize: options.failedPageSize })
  t.teardown(() => agent.stop())
  return { agent, queue, service, nodeId, name, errors }
}

/** Refreshes the console until the queue shows `failed` listed failed jobs. */
export async function waitForFailed(app: FastifyInstance, worker: Pick<Worker, 'service' | 'name'>, listed: number): Promise<void> {
  await eventually(async () => {
    await app.collector.refresh()
    return (findQueue(app.collector.snapshot, worker.service, worker.name)?.failedJobs?.length ?? -1) === listed
  }, `${listed} failed jobs of ${worker.name} in the snapshot`)
}

/** Refreshes the console until the command has a final status; returns the API answer. */
export async function waitForFinal(app: FastifyInstance, id: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  let answer: Record<string, unknown> = {}
  await eventually(async () => {
    await app.collector.refresh()
    answer = (await app.inject({ url: `/api/pulse/command/${id}`, headers })).json() as Record<string, unknown>
    return answer.status !== undefined && answer.status !== 'pending'
  }, `a final status for ${id}`)
  return answer
}

export const JSON_HEADERS = { 'content-type': 'application/json' }

/**
 * The action commands (retry, delete…) in a node's command stream, parsed. A queue page of an agent
 * queue also asks its node for a page of jobs (the read-only LIST_JOBS) through the same stream;
 * those requests are not actions, so a test of what an operator sent leaves them out.
 */
export async function sentActions(redis: FastifyInstance['redis'], stream: string): Promise<Record<string, unknown>[]> {
  const entries = await redis.xrange(stream, '-', '+')
  return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf(COMMAND_FIELD) + 1]!) as Record<string, unknown>).filter((command) => !isReadCommandType(command.type))
}
