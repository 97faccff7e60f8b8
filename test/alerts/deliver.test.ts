import t from 'tap'
import { deliver } from '../../server/alerts/channels/deliver.js'
import type { AlertMessage } from '../../server/alerts/channels/message.js'
import { createDispatcher, type Delivery } from '../../server/alerts/dispatcher.js'
import type { DeliveryOutcome } from '../../server/alerts/channels/deliver.js'
import { startReceiver } from './receiver.js'
import { eventually } from '../helpers/eventually.js'

const FIRED = Date.UTC(2026, 10, 23, 12, 0, 0)

const message: AlertMessage = {
  id: '1795435200000-0:hook',
  kind: 'firing',
  rule: 'cpu-high',
  metric: 'cpu',
  target: 'billing/web-1',
  service: 'billing',
  nodeId: 'web-1',
  op: 'above',
  value: 97.25,
  threshold: 90,
  at: FIRED,
  firedAt: FIRED,
}

/** Records the backoff waits instead of sleeping, so retries cost no time. */
function recordingSleep() {
  const waits: number[] = []
  return { waits, sleep: async (ms: number) => void waits.push(ms) }
}

t.test('a generic webhook receives the flat JSON shape', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const outcome = await deliver({ name: 'hook', type: 'webhook', url: receiver.url('/alerts?token=x') }, message)
  t.same(outcome, { ok: true, attempts: 1 })
  t.equal(receiver.requests.length, 1)
  const request = receiver.requests[0]!
  t.equal(request.method, 'POST')
  t.equal(request.path, '/alerts?token=x')
  t.match(request.headers['content-type'], /^application\/json/)
  t.equal(request.headers['idempotency-key'], '1795435200000-0:hook')
  t.same(request.body, {
    id: '1795435200000-0:hook',
    rule: 'cpu-high',
    metric: 'cpu',
    target: 'billing/web-1',
    service: 'billing',
    nodeId: 'web-1',
    value: 97.25,
    threshold: 90,
    op: 'above',
    state: 'firing',
    repeat: false,
    firedAt: FIRED,
    at: FIRED,
  })
})

t.test('Slack receives its message shape: text plus blocks, with markup characters escaped', async (t) => {
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const resolved: AlertMessage = { ...message, kind: 'resolved', value: 40, at: FIRED + 300_000 }
  t.same(await deliver({ name: 'slack', type: 'slack', url: receiver.url('/services/T/B/x') }, resolved), { ok: true, attempts: 1 })
  const body = receiver.requests[0]!.body
  t.equal(typeof body.text, 'string')
  t.match(body.text, /^\[RESOLVED\] cpu-high on billing\/web-1: CPU 40\.0 % \(CPU above 90 %\)$/)
  t.equal(body.blocks[0].type, 'section')
  t.equal(body.blocks[0].text.type, 'mrkdwn')
  t.match(body.blocks[0].text.text, /:white_check_mark:/)
  t.equal(body.blocks[1].type, 'context')
  t.match(body.blocks[1].elements[0].text, /firing since <!date\^\d+\^/)
  t.notOk('state' in body, 'not the webhook shape')

  const { slackPayload } = await import('../../server/alerts/channels/slack.js')
  t.match(slackPayload({ ...message, target: 'a<b>&c' }).text, /a&lt;b&gt;&amp;c/)
})

t.test('Slack: formatting characters in names stay plain characters', async (t) => {
  const { slackPayload } = await import('../../server/alerts/channels/slack.js')
  const plain = (char: string) => `<!date^00000000^{_}|${char}>`
  const payload = slackPayload({ ...message, service: '_x_', nodeId: '*b*', target: '_x_/*b*' })
  t.equal(payload.text, `[FIRING] cpu-high on ${plain('_')}x${plain('_')}/${plain('*')}b${plain('*')}: CPU 97.3 % (CPU above 90 %)`)
  const blocks = payload.blocks as any[]
  t.equal(blocks[0].text.text, `:rotating_light: *${payload.text}*`)
  t.equal(blocks[1].elements[0].text, `service *${plain('_')}x${plain('_')}* · rule cpu-high`)
  for (const char of ['~', '`']) t.match(slackPayload({ ...message, target: `a${char}b${char}` }).text, `a${plain(char)}b${plain(char)}`)
  // outside the escapes and the emoji, the only formatting left is the message's own bold
  const bare = JSON.stringify(payload.blocks)
    .replace(/<!date\^00000000\^\{_\}\|[_*~`]>/g, '')
    .replace(/:[a-z_]+:/g, '')
  t.same(bare.match(/[_*~`]/g), ['*', '*', '*', '*'])
})

t.test('Slack: a section never passes its 3,000 characters, however long the escaped names', async (t) => {
  const { slackPayload } = await import('../../server/alerts/channels/slack.js')
  const name = '_'.repeat(64)
  const target = `${name}/${name}`
  const section = (payload: ReturnType<typeof slackPayload>) => (payload.blocks[0] as any).text
  const single = section(slackPayload({ ...message, rule: name, service: name, nodeId: name, target }))
  t.same([single.type, single.text.length <= 3_000], ['plain_text', true], 'too long escaped: sent as plain text, which Slack does not format')
  t.match(single.text, `on ${target}:`)

  const targets = Array.from({ length: 12 }, (_, i) => ({ target: i < 2 ? `web/n_${i}_` : target, service: 'web', value: 1, firedAt: FIRED }))
  const grouped = section(slackPayload({ id: 'g', kind: 'firing', rule: 'node-lost', metric: 'node_lost', op: 'above', threshold: 0.5, at: FIRED, count: 40, targets }))
  t.equal(grouped.type, 'mrkdwn')
  t.ok(grouped.text.length <= 3_000)
  t.match(grouped.text, /for 40 nodes: web\/n.*1.* and 38 more \(node is dead\)\*$/, 'the names that fit, then the count of the rest')
})

t.test('a failing receiver (500) is retried with backoff, then reported undelivered', async (t) => {
  const receiver = await startReceiver(() => 500)
  t.teardown(() => receiver.close())
  const { waits, sleep } = recordingSleep()
  const outcome = await deliver({ name: 'hook', type: 'webhook', url: receiver.url() }, message, { sleep })
  t.same(outcome, { ok: false, attempts: 4, error: 'HTTP 500' })
  t.equal(receiver.requests.length, 4, 'first try and three retries')
  t.same(waits, [500, 1000, 2000])
})

t.test('a receiver that recovers gets the message on a retry', async (t) => {
  const receiver = await startReceiver((_request, i) => (i < 2 ? 503 : 204))
  t.teardown(() => receiver.close())
  const { waits, sleep } = recordingSleep()
  t.same(await deliver({ name: 'hook', type: 'webhook', url: receiver.url() }, message, { sleep }), { ok: true, attempts: 3 })
  t.same(waits, [500, 1000])
  t.same(
    receiver.requests.map((r) => [r.headers['idempotency-key'], r.body.id]),
    Array(3).fill([message.id, message.id]),
    'every retry carries the same id',
  )
})

t.test('a client error (4xx) is not retried', async (t) => {
  const receiver = await startReceiver(() => 404)
  t.teardown(() => receiver.close())
  const { sleep } = recordingSleep()
  t.same(await deliver({ name: 'hook', type: 'webhook', url: receiver.url() }, message, { sleep }), { ok: false, attempts: 1, error: 'HTTP 404' })
})

t.test('a redirect is not followed and counts as a failure', async (t) => {
  const elsewhere = await startReceiver()
  t.teardown(() => elsewhere.close())
  const receiver = await startReceiver(() => ({ status: 302, location: elsewhere.url('/stolen') }))
  t.teardown(() => receiver.close())
  const { sleep } = recordingSleep()
  const outcome = await deliver({ name: 'hook', type: 'webhook', url: receiver.url() }, message, { sleep })
  t.same(outcome, { ok: false, attempts: 1, error: 'redirect (302) not followed' })
  t.equal(elsewhere.requests.length, 0, 'the redirect target never got the message')
})

t.test('a receiver that never answers times out, is retried, and the error names no URL', async (t) => {
  const receiver = await startReceiver(() => 'hang')
  t.teardown(() => receiver.close())
  const { sleep } = recordingSleep()
  const outcome = await deliver({ name: 'hook', type: 'webhook', url: receiver.url('/secret-path') }, message, { sleep, timeoutMs: 200, backoffMs: [1] })
  t.same(outcome, { ok: false, attempts: 2, error: 'no answer within 200 ms' })
  t.equal(receiver.requests.length, 2)
})

t.test('a refused connection is retried and reported by its code only', async (t) => {
  const receiver = await startReceiver()
  const url = receiver.url('/secret-path')
  await receiver.close()
  const { sleep } = recordingSleep()
  const outcome = await deliver({ name: 'hook', type: 'webhook', url }, message, { sleep })
  t.equal(outcome.ok, false)
  t.equal(outcome.attempts, 4)
  t.equal(outcome.error, 'ECONNREFUSED')
})

t.test('dispatcher: a hanging receiver holds only its own worker, and closing aborts it', async (t) => {
  const slow = await startReceiver(() => 'hang')
  const fast = await startReceiver(() => 200)
  t.teardown(() => slow.close())
  t.teardown(() => fast.close())
  const results: [string, DeliveryOutcome][] = []
  const dispatcher = createDispatcher({
    concurrency: 2,
    timeoutMs: 60_000,
    onResult: (delivery: Delivery, outcome) => void results.push([delivery.channel.name, outcome]),
  })
  const hook = (name: string, url: string) => ({ name, type: 'webhook' as const, url })
  dispatcher.enqueue({ eventIds: ['1-0'], channel: hook('slow', slow.url()), message })
  for (let i = 0; i < 5; i++) dispatcher.enqueue({ eventIds: [`${i + 2}-0`], channel: hook('fast', fast.url()), message })
  await eventually(() => fast.requests.length === 5, 'the other deliveries go through')
  t.same(
    results.map(([name, o]) => [name, o.ok]),
    Array(5).fill(['fast', true]),
  )
  t.equal(slow.requests.length, 1, 'the slow receiver got its request and is still holding it')
  await dispatcher.close()
  t.same(results.at(-1), ['slow', { ok: false, attempts: 1, error: 'aborted' }])
  dispatcher.enqueue({ eventIds: ['9-0'], channel: hook('fast', fast.url()), message })
  await dispatcher.idle()
  t.equal(fast.requests.length, 5, 'nothing is sent after close')
})

t.test('dispatcher: a full queue drops the oldest waiting delivery and reports it', async (t) => {
  const results: [string, DeliveryOutcome][] = []
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const dispatcher = createDispatcher({
    concurrency: 1,
    maxQueued: 2,
    send: async () => {
      await gate
      return { ok: true, attempts: 1 }
    },
    onResult: (delivery, outcome) => void results.push([delivery.eventIds[0]!, outcome]),
  })
  const channel = { name: 'c', type: 'webhook' as const, url: 'https://example.com/' }
  for (const id of ['a', 'b', 'c', 'd']) dispatcher.enqueue({ eventIds: [id], channel, message })
  t.same(results, [['b', { ok: false, attempts: 0, error: 'dropped: delivery queue full' }]], 'a is in flight; b was the oldest waiting')
  release()
  await dispatcher.idle()
  t.same(
    results.map(([id, o]) => [id, o.ok]),
    [
      ['b', false],
      ['a', true],
      ['c', true],
      ['d', true],
    ],
  )
})
