/**
 * An app starts its agent before Redis answers as a matter of course. Against a real redis-server
 * that comes up a moment after the agent: the beats tried before the first connection are counted
 * but not reported, the first beat lands once Redis is up, and a beat dropped after that (Redis
 * gone again) is reported as before. Every wait is for an event (a count, a key), not a time.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { startRedis } from '../../test/helpers/redis-server.js'
import { eventually } from '../../test/helpers/eventually.js'
import { BeatDroppedError, startPulse } from '../src/index.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

const drops = (errors: unknown[]) => errors.filter((error) => error instanceof BeatDroppedError)

t.test('no "beat dropped" before the first connection; a real drop after it is reported', async (t) => {
  const redisServer = await startRedis()
  t.teardown(() => redisServer.stop())
  await redisServer.kill()
  const errors: unknown[] = []
  const agent = startPulse({ service: 'early', url: redisServer.url, nodeId: 'e1', intervalMs: 100, onError: (error) => void errors.push(error) })
  t.teardown(() => agent.stop())

  await eventually(() => agent.beatCounts.notReady >= 3, 'three beats tried before Redis is up')
  t.same(drops(errors), [], 'the beats tried before the first connection are not reported')

  await redisServer.restart()
  const check = new Redis(redisServer.url)
  t.teardown(() => check.disconnect())
  await eventually(async () => (await check.get('gravito:quasar:node:early:e1')) !== null, 'the first beat lands once Redis is up')
  t.same(drops(errors), [], 'still no "beat dropped" once connected')

  await redisServer.kill()
  const writtenBefore = agent.beatCounts.written
  await eventually(() => drops(errors).some((error) => (error as BeatDroppedError).reason === 'not-ready'), 'a beat dropped after the connection was lost')
  t.equal(agent.beatCounts.written, writtenBefore, 'nothing was written while Redis was gone')
  t.same(unhandled, [], 'no unhandled rejection')
})
