/**
 * QUASAR_TOKEN shorter than 16 characters: the console refuses it, so the SDK does not use it.
 * Commands stay off, onError says why once (without the token), and a command signed with the
 * short token is rejected as from an agent without a token. At 16 characters it is used.
 */
import t from 'tap'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { resultOf, sendSigned, unsignedCommand } from '../../../test/commands/signed.js'
import { createKeys, QUASAR_TOKEN_MIN_LENGTH } from '../../src/index.js'
import { startAgent } from './agent.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

t.equal(QUASAR_TOKEN_MIN_LENGTH, 16)

for (const length of [1, 8, 15]) {
  t.test(`a ${length}-character token is not used; onError says so, never the token`, async (t) => {
    const token = 'k'.repeat(length)
    const nodeId = `short-${length}`
    const { agent, errors } = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId, queues: [], token })
    t.equal(agent.hasToken, false)
    const told = errors.filter((error) => error instanceof Error && /QUASAR_TOKEN is shorter than 16 characters; commands are disabled/.test(error.message))
    t.equal(told.length, 1)
    t.notMatch(String((told[0] as Error).message), token.length > 3 ? token : /^$/)

    const command = unsignedCommand({ service: 'billing', nodeId, queue: 'emails', jobId: '1' })
    await sendSigned(redis, keys, command, token)
    await eventually(async () => (await resultOf(redis, keys, 'billing', command.id)) !== null, 'a result')
    t.match(await resultOf(redis, keys, 'billing', command.id), { status: 'rejected', reason: 'agent has no QUASAR_TOKEN; commands are disabled' })
  })
}

t.test('a 16-character token is used', async (t) => {
  const { agent, errors } = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'long-16', queues: [], token: 'k'.repeat(16) })
  t.equal(agent.hasToken, true)
  t.same(
    errors.filter((error) => error instanceof Error && /QUASAR_TOKEN/.test(error.message)),
    [],
  )
})

t.test('the environment variable follows the same rule', async (t) => {
  const saved = process.env.QUASAR_TOKEN
  t.teardown(() => (saved === undefined ? delete process.env.QUASAR_TOKEN : (process.env.QUASAR_TOKEN = saved)))
  process.env.QUASAR_TOKEN = 'too-short'
  const short = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'env-short', queues: [], token: null })
  t.equal(short.agent.hasToken, false)
  t.equal(short.errors.length, 1)
  process.env.QUASAR_TOKEN = 'long-enough-token-0123'
  const long = await startAgent(t, { url: redisServer.url, service: 'billing', nodeId: 'env-long', queues: [], token: null })
  t.equal(long.agent.hasToken, true)
})
