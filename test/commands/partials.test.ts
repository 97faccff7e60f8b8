/**
 * The command partials the queue page includes, rendered on their own: who sees buttons, and every
 * agent string escaped, inside attributes too (hx-confirm, hidden fields).
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { buildTestApp } from '../helpers/app.js'

const redisServer = await startRedis()
t.teardown(() => redisServer.stop())
const app = await buildTestApp({ redisUrl: redisServer.url })
t.teardown(() => app.close())

const HOSTILE = `"><script>alert(1)</script>&'{}`
const BOTH = ['RETRY_JOB', 'DELETE_JOB']
const operator = { user: { username: 'olivia', role: 'operator' }, csrfToken: 'csrf-token', csrfHeaders: '' }
// what the commands area adds to the rows of a viewer who may send commands
const canSend = { canSendCommands: true }

function jobActions(overrides: Record<string, unknown> = {}) {
  return app.view('commands/job-actions', { service: 'billing', queue: 'emails', nodeId: 'worker-1', job: { id: '42' }, commands: BOTH, auth: operator, decorations: canSend, ...overrides })
}

function queueActions(overrides: Record<string, unknown> = {}) {
  return app.view('commands/queue-actions', { service: 'billing', queue: 'emails', nodeId: 'worker-1', failed: 3, commands: BOTH, auth: operator, decorations: canSend, ...overrides })
}

t.test('an operator of a console that can sign gets Retry and Delete', async (t) => {
  const html = await jobActions()
  t.match(html, /action="\/commands\/retry"/)
  t.match(html, /name="_csrf" value="csrf-token"/)
  t.match(html, /hx-post="\/commands\/delete"/)
  t.match(html, /hx-confirm="Delete job 42 from emails\? This cannot be undone\."/)
  t.match(html, /hx-vals="\{&quot;confirmed&quot;:&quot;yes&quot;\}"/, 'the JSON is escaped in its attribute')
  t.match(await queueActions(), /Retry all failed/)
})

t.test('nobody else does', async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['a viewer', { auth: { ...operator, user: { username: 'victor', role: 'viewer' } }, decorations: { canSendCommands: false } }],
    ['commands disabled', { decorations: { canSendCommands: false } }],
    ['no row decorations', { decorations: undefined }],
    ['no auth', { auth: null }],
    ['no owning node', { nodeId: undefined }],
  ]
  for (const [what, overrides] of cases) {
    t.equal((await jobActions(overrides)).trim(), '', `${what}: no job buttons`)
    t.equal((await queueActions(overrides)).trim(), '', `${what}: no retry-all`)
  }
  t.equal((await jobActions({ commands: [] })).trim(), '', 'a read-only queue: no job buttons')
  t.notMatch(await queueActions({ commands: [] }), /Retry all/, 'a read-only queue: no retry-all')
  t.equal((await queueActions({ failed: 0 })).trim(), '', 'nothing failed: no retry-all')
  t.equal((await queueActions({ failed: null })).trim(), '', 'failed count unknown: no retry-all')
})

t.test('job ids from agents are escaped everywhere they appear', async (t) => {
  const html = await jobActions({ job: { id: HOSTILE } })
  t.notMatch(html, /<script>/)
  t.notMatch(html, /"><script/)
  t.match(html, /name="jobId" value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;&amp;&#39;\{\}"/)
  t.match(html, /hx-confirm="Delete job &quot;&gt;&lt;script&gt;/)
})

t.test('a job with a command pending or just finished shows its status, to every viewer, instead of buttons', async (t) => {
  const sent = { id: 'cmd-0000000001', type: 'RETRY_JOB', service: 'billing', nodeId: 'worker-1', queue: 'emails', jobId: '42', sentBy: 'olivia', sentAt: 1, expiresAt: 2 }
  const helpers = (await import('../../server/commands/view-helpers.js')).commandViewHelpers
  const withLast = (record: unknown, decorations: Record<string, unknown> = canSend) => ({
    ...decorations,
    commandHelpers: helpers,
    lastCommand: (service: string, queue: string, jobId: string) => (service === 'billing' && queue === 'emails' && jobId === '42' ? record : null),
  })

  const pending = await jobActions({ decorations: withLast({ ...sent, status: 'pending' }) })
  t.match(pending, /data-status="pending"/)
  t.match(pending, /hx-get="\/commands\/cmd-0000000001\/status"/, 'a pending status keeps polling itself')
  t.notMatch(pending, /Retry job 42/, 'no buttons while it is pending')

  const failed = await jobActions({ decorations: withLast({ ...sent, status: 'failed', reason: '<b>no such job</b>', finishedAt: 3 }) })
  t.match(failed, /data-status="failed"/)
  t.match(failed, /&lt;b&gt;no such job&lt;\/b&gt;/, "the agent's reason is escaped")
  t.notMatch(failed, /hx-trigger/, 'a final status does not poll')

  const viewer = { ...operator, user: { username: 'victor', role: 'viewer' } }
  t.match(await jobActions({ auth: viewer, decorations: withLast({ ...sent, status: 'ok', finishedAt: 3 }, { canSendCommands: false }) }), /Retried/, 'a viewer sees what happened too')
  t.match(await jobActions({ job: { id: '43' }, decorations: withLast({ ...sent, status: 'pending' }) }), /Retry job 43/, 'another job keeps its buttons')
})

t.test('only the declared commands get buttons, and a read-only queue says why to every viewer', async (t) => {
  const retryOnly = await jobActions({ commands: ['RETRY_JOB'] })
  t.match(retryOnly, /Retry job 42/)
  t.notMatch(retryOnly, /Delete/, 'Retry without Delete')
  t.match(await queueActions({ commands: ['RETRY_JOB'] }), /Retry all failed/)

  const deleteOnly = await jobActions({ commands: ['DELETE_JOB'] })
  t.match(deleteOnly, /Delete job 42/)
  t.notMatch(deleteOnly, /Retry/, 'Delete without Retry')
  t.equal((await queueActions({ commands: ['DELETE_JOB'] })).trim(), '', 'no retry-all without RETRY_JOB')

  const reasons = ['its agent does not declare commands', 'discovered in Redis, no agent', 'no node known']
  for (const reason of reasons) {
    for (const auth of [operator, null]) {
      const html = await queueActions({ commands: [], readOnlyReason: reason, auth })
      t.match(html, new RegExp(`Read-only: ${reason}\\.`), `${reason} (${auth ? 'operator' : 'no auth'})`)
    }
  }
  t.match(await queueActions({ commands: [], readOnlyReason: '<b>x</b>' }), /&lt;b&gt;x&lt;\/b&gt;/, 'escaped')
})
