/**
 * The name rules: services and nodes keep `^[A-Za-z0-9._-]{1,64}$`; queue names are bounded in
 * length and refused only for control characters; the node id derived from a long host name is
 * valid, readable, keeps its pid, and stays distinct per host.
 */
import t from 'tap'
import { isValidName, isValidQueueName, nodeIdFrom, queueNameSchema, shortHash, validNameFrom } from '../../src/protocol/index.js'

t.test('queue names: what queue systems allow, bounded, no control characters', async (t) => {
  for (const name of ['send email', 'correo-électronique', 'emails@v2', '{high}', 'a:b', 'a/b?c#d', '日本語', '🚀 rocket', 'x'.repeat(256)]) {
    t.ok(isValidQueueName(name) && queueNameSchema.safeParse(name).success, JSON.stringify(name))
  }
  for (const name of ['', 'x'.repeat(257), 'line\nbreak', 'tab\there', 'nul\u0000', 'del\u007f', 'c1\u0085', 42, null]) {
    t.notOk(isValidQueueName(name) || queueNameSchema.safeParse(name).success, JSON.stringify(name))
  }
})

t.test('validNameFrom keeps a valid name and tags any other with its hash', async (t) => {
  t.equal(validNameFrom('bull'), 'bull')
  t.equal(validNameFrom('{bull}'), `bull-${shortHash('{bull}')}`)
  t.equal(validNameFrom('app:bull'), `app-bull-${shortHash('app:bull')}`)
  t.equal(validNameFrom('::'), `x-${shortHash('::')}`, 'nothing readable left')
  const inputs = ['{bull}', 'bull}', '{bull', 'app:bull', 'app bull', 'app*bull', 'y'.repeat(100), `${'y'.repeat(100)}z`]
  const outputs = inputs.map((text) => validNameFrom(text))
  t.ok(
    outputs.every((name) => isValidName(name)),
    'every result is a valid name',
  )
  t.equal(new Set(outputs).size, inputs.length, 'distinct inputs stay distinct')
})

t.test('nodeIdFrom: host and pid, or a cut host, its hash and the pid', async (t) => {
  t.equal(nodeIdFrom('web-1', 4242), 'web-1-4242', 'a short valid host is kept as it is')
  const pod = 'payments-api-worker-deployment-7f9c8d6b5-x2x9z.payments.svc.cluster.local'
  const id = nodeIdFrom(pod, 4242)
  t.ok(isValidName(id), `valid (${id}, ${id.length} characters)`)
  t.equal(id.length, 64, 'cut to the most the rule allows')
  t.ok(id.startsWith('payments-api-worker-deployment-7f9c8d6b5-x2x9z.pay-'), 'readable: starts as the host does (the example in PROTOCOL.md)')
  t.ok(id.endsWith(`-${shortHash(pod)}-4242`), 'ends with the hash of the whole host, then the pid')
  t.not(nodeIdFrom(`${pod}x`, 4242), id, 'two hosts that differ only past the cut get two ids')
  t.not(nodeIdFrom(pod, 4243), id, 'two processes on one host get two ids')
  t.ok(isValidName(nodeIdFrom('host name:with*odd{chars}', 1)))
  t.ok(isValidName(nodeIdFrom('', 1)), 'no host name at all')
})
