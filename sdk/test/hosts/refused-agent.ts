/**
 * A host process for host-refusals.test.ts: a running app with the agent inside, whose Redis
 * refuses some of the agent's commands. It runs in a Node process of its own with Node's default
 * handling, where one unhandled rejection or uncaught exception ends the process with code 1.
 * Once onError has seen every refusal the test expects (QUASAR_TEST_EXPECT, a JSON list of regular
 * expressions), the host does more of its own work while the agent goes on (refused again, or
 * beating); then it prints what it saw as one JSON line, stops the agent and exits on its own.
 */
import { startPulse } from '../../src/index.js'

const expected = (JSON.parse(process.env.QUASAR_TEST_EXPECT ?? '[]') as string[]).map((source) => new RegExp(source))
const messages: string[] = []
let onErrorCalls = 0
let wake: () => void = () => {}
const seen = () => expected.every((pattern) => messages.some((message) => pattern.test(message)))

const agent = startPulse({
  service: 'billing',
  nodeId: 'refused-1',
  url: process.env.QUASAR_TEST_URL!,
  intervalMs: 100,
  token: 'host-refusals-token-0123456789abcdef',
  onError: (error) => {
    onErrorCalls++
    messages.push(error instanceof Error ? error.message : String(error))
    wake()
  },
})

/** resolves once `done()` holds, checked whenever onError is called; false after 20 s */
function until(done: () => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 20_000)
    wake = () => {
      if (!done()) return
      clearTimeout(timer)
      resolve(true)
    }
    wake()
  })
}

// the host's own work: a timer that must keep firing after the refusals
let hostTicks = 0
const host = setInterval(() => {
  hostTicks++
  wake()
}, 5)
/** what the agent did: errors reported and beats written */
const agentEvents = () => onErrorCalls + agent.beatCounts.written

const allSeen = await until(seen)
const ticksThen = hostTicks
const eventsThen = agentEvents()
// the host goes on, and so does the agent, refused or not, without hurting it
await until(() => agentEvents() >= eventsThen + 3 && hostTicks > ticksThen)
clearInterval(host)
await agent.stop()
process.stdout.write(`${JSON.stringify({ allSeen, messages: [...new Set(messages)], hostTicksAfter: hostTicks - ticksThen, agentEventsAfter: agentEvents() - eventsThen })}\n`)
