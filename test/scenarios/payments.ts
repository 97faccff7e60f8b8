/**
 * A well-behaved service that takes commands: an SDK agent (payments/worker-1, signing token set)
 * watching a real BullMQ queue with one really failed job. Its command should finish `ok` whatever
 * the hostile agent does to its own result keys.
 */
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startPulse } from '@gravito/quasar'
import { eventually } from '../helpers/eventually.js'
import { TOKEN } from '../commands/signed.js'
import { buildBullmqFleet, STATES, type QueueSpec } from './bullmq-fleet.js'
import { TICK_MS, type Scenario } from './attack-harness.js'

export interface CommandTarget {
  service: string
  nodeId: string
  queue: string
  jobId: string
}

export async function startPaymentsWorker(t: Test, s: Scenario, redisUrl: string): Promise<{ target: CommandTarget }> {
  const none = Object.fromEntries(STATES.map((state) => [state, 0])) as QueueSpec['jobs']
  const fleet = await buildBullmqFleet(redisUrl, [{ prefix: 'bull', name: 'charges', jobs: { ...none, failed: 1 }, childrenPerParent: 1, paused: false, order: [...STATES] }], 5)
  t.teardown(() => fleet.close())
  const agent = startPulse({ service: 'payments', nodeId: 'worker-1', url: redisUrl, token: TOKEN, intervalMs: 300 }).monitorQueue('charges', 'bullmq')
  t.teardown(() => agent.stop())
  let jobId = ''
  await eventually(async () => {
    // a new service is found by the console's next SCAN pass, due on its clock
    s.clock.advance(TICK_MS)
    await s.app.collector.refresh()
    const answer = await s.app.inject('/api/pulse/queues/payments/charges/jobs?state=failed')
    jobId = answer.statusCode === 200 ? ((answer.json().jobs as { id: string }[])[0]?.id ?? '') : ''
    return jobId !== ''
  }, "payments' failed job is listed")
  return { target: { service: 'payments', nodeId: 'worker-1', queue: 'charges', jobId } }
}

/** Sends RETRY_JOB through the API, as an operator would; returns the command id. */
export async function sendCommand(t: Test, app: FastifyInstance, target: CommandTarget): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/api/pulse/command', headers: { 'content-type': 'application/json' }, payload: { ...target, type: 'RETRY_JOB' } })
  t.equal(response.statusCode, 202, `command to ${target.service}/${target.nodeId} sent`)
  return (response.json() as { id: string }).id
}

export async function commandStatus(app: FastifyInstance, id: string): Promise<string | undefined> {
  return ((await app.inject(`/api/pulse/command/${id}`)).json() as { status?: string }).status
}
