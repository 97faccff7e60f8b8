/**
 * The agent's wake-up subscriber against a real Redis: every message on its channel wakes it,
 * the console's JSON `{"type":"wake"}`, the bare `wake` older consoles publish, and anything else;
 * a message on another channel does not; no payload reaches onError.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { useRedis } from '../../../test/helpers/redis-server.js'
import { eventually } from '../../../test/helpers/eventually.js'
import { createKeys, WAKE_UP_MESSAGE } from '../../src/protocol/index.js'
import { openWakeUp } from '../../src/commands/wake-up.js'

const { server: server, redis } = await useRedis(t)
const keys = createKeys()

t.test('any message on the channel wakes the agent: JSON, the legacy word, anything', async (t) => {
  const channel = keys.commandChannel('billing', 'worker-1')
  let wakes = 0
  const errors: unknown[] = []
  const transport = new Redis(server.url)
  t.teardown(() => transport.quit())
  const wakeUp = openWakeUp({ transport, channel, connectionName: 'test-wake', onWake: () => void wakes++, report: (error) => void errors.push(error) })
  t.teardown(() => wakeUp.close())
  // subscribing wakes it once, to read what was added while it was away
  await eventually(() => wakes === 1, 'subscribed')
  t.equal((await redis.pubsub('NUMSUB', channel))[1], 1)

  t.equal(WAKE_UP_MESSAGE, '{"type":"wake"}')
  const messages = [WAKE_UP_MESSAGE, 'wake', JSON.stringify({ type: 'wake', id: 'abcdefgh' }), '{not json', '']
  for (const [n, message] of messages.entries()) {
    t.equal(await redis.publish(channel, message), 1)
    await eventually(() => wakes === n + 2, `woken by ${JSON.stringify(message)}`)
  }
  await redis.publish(keys.commandChannel('billing', 'worker-2'), WAKE_UP_MESSAGE)
  // a message published after it on our channel arrives after it: the other one must have been ignored
  await redis.publish(channel, WAKE_UP_MESSAGE)
  await eventually(() => wakes >= messages.length + 2, 'the last message')
  t.equal(wakes, messages.length + 2, "another node's channel does not wake it")
  t.same(errors, [])
})
