/**
 * A real agent (startPulse) monitoring real BullMQ queues through the SDK's bullmq driver, with a
 * short beat, its errors collected, stopped at the end of the test.
 */
import type { Test } from 'tap'
import { startPulse, type QuasarAgent } from '../../src/index.js'
import { TOKEN } from '../../../test/commands/signed.js'

export interface AgentOptions {
  url: string
  service: string
  nodeId: string
  queues: string[]
  /** null: no token at all */
  token?: string | null
  perSecond?: number
  /** where the queues live, when not behind `url` */
  appUrl?: string
}

export interface TestAgent {
  agent: QuasarAgent
  errors: unknown[]
  beat(): Promise<boolean>
  stop(): Promise<void>
}

export async function startAgent(t: Test, options: AgentOptions): Promise<TestAgent> {
  const errors: unknown[] = []
  const agent = startPulse({
    service: options.service,
    nodeId: options.nodeId,
    url: options.url,
    ...(options.appUrl ? { app: options.appUrl } : {}),
    intervalMs: 300,
    ...(options.token === null ? {} : { token: options.token ?? TOKEN }),
    ...(options.perSecond ? { commandsPerSecond: options.perSecond } : {}),
    onError: (error) => void errors.push(error),
  })
  for (const name of options.queues) agent.monitorQueue(name, 'bullmq')
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await agent.stop()
  }
  t.teardown(stop)
  return { agent, errors, beat: () => agent.beat(), stop }
}
