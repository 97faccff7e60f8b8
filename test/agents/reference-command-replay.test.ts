/**
 * The PHP and Python reference agents remember the commands they ran for as long as the commands
 * are valid: a retry sent through the console's API runs once; with its `cmdseen` mark gone from
 * Redis, the very same signed entry added again is refused from the agent's memory and the job is
 * not retried a second time, while a different command still runs. The memory lives in the
 * agent's process, so each agent runs here as a service does: one long-lived process.
 */
import t from 'tap'
import { createKeys, COMMAND_FIELD } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { eventually } from '../helpers/eventually.js'
import { JSON_HEADERS, waitForFinal } from '../commands/fixture.js'
import { deliver } from '../commands/signed.js'
import { AGENT_KINDS } from './reference-agent.js'
import { get, plan, refreshUntil, runPlan, startAgentAndConsole } from './console-fixture.js'

const { server: redisServer, redis } = await useRedis(t)
const keys = createKeys()

for (const [seed, kind] of AGENT_KINDS.entries()) {
  t.test(`${kind}: a signed command added again after its cmdseen mark is deleted does not run again`, async (t) => {
    const service = `${kind}-replay`
    const nodeId = `${kind}-node-1`
    const { agent, app } = await startAgentAndConsole(t, redisServer.url, kind, service)
    const ids = await runPlan(agent, plan(seed + 5), 0)
    const broken = ids.get('broken-mail')!
    const flaky = ids.get('flaky-mail-0')!
    await refreshUntil(app, async () => (await get(app, `/api/pulse/queues/${service}/mail/jobs`)).jobs?.length === 3, 'the failed jobs are listed')
    // beats often, so a retried job runs soon; nothing below depends on how soon
    const running = agent.start({ INTERVAL: '0.2' })
    t.teardown(() => running.stop())

    const jobs = `store:${service}:mail:jobs`
    const failed = `store:${service}:mail:failed`
    const attemptsOf = async (id: string) => (JSON.parse((await redis.hget(jobs, id)) ?? '{}') as { attempts?: number }).attempts
    const send = (type: string, jobId: string) => app.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service, nodeId, queue: 'mail', type, jobId }) })

    t.equal(await attemptsOf(broken), 1, 'the job that never succeeds failed once')
    const retry = await send('RETRY_JOB', broken)
    t.equal(retry.statusCode, 202, retry.body)
    if (retry.statusCode !== 202) return
    const retryId = retry.json().id as string
    t.match(await waitForFinal(app, retryId), { status: 'ok', type: 'RETRY_JOB', jobId: broken })
    // it ran again and failed again: back in the failed set after its second attempt
    await eventually(async () => (await attemptsOf(broken)) === 2 && (await redis.zscore(failed, broken)) !== null, 'the retried job ran once more')

    // whoever can remove keys drops the replay mark, then adds the console's own entry once more
    const entries = await redis.xrange(keys.commandStream(service, nodeId), '-', '+')
    const original = entries.map(([, fields]) => fields[fields.indexOf(COMMAND_FIELD) + 1]!).find((json) => (JSON.parse(json) as { id: string }).id === retryId)
    t.ok(original, 'the console wrote the signed command into the node stream')
    if (!original) return
    const seenKey = keys.commandSeen(service, nodeId, retryId)
    t.equal(await redis.del(seenKey), 1, 'the mark was there, and is gone')
    await deliver(redis, keys, service, nodeId, original)
    const [[copyEntryId]] = (await redis.xrevrange(keys.commandStream(service, nodeId), '+', '-', 'COUNT', 1)) as [[string, string[]]]

    // a different command, after the copy in the stream: once it is done, the copy was handled
    const remove = await send('DELETE_JOB', flaky)
    t.equal(remove.statusCode, 202, remove.body)
    if (remove.statusCode !== 202) return
    t.match(await waitForFinal(app, remove.json().id), { status: 'ok', type: 'DELETE_JOB', jobId: flaky }, 'a different command still runs')
    t.equal(await redis.hexists(jobs, flaky), 0, 'the deleted job is gone from the store')

    t.match(running.stderr(), `command rejected (${copyEntryId}): replayed`, 'the agent says it refused the copy')
    t.equal(await redis.exists(seenKey), 0, 'the copy was not claimed again in Redis')
    t.not(await redis.zscore(failed, broken), null, 'the job was not retried a second time: still failed')
    t.notOk((await redis.lrange(`store:${service}:mail:waiting`, 0, -1)).includes(broken), 'nor waiting to run')
    t.equal(await attemptsOf(broken), 2, 'nor run a third time')
    t.match(await waitForFinal(app, retryId), { status: 'ok' }, 'the console still shows how the real one ended')
  })
}
