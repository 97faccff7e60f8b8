/**
 * A retry and a delete sent through the console's API reach the PHP and Python reference agents
 * (examples/), which run them on their job store; the console shows both as ok and the queue as
 * the agent reports it afterwards.
 */
import t from 'tap'
import { useRedis } from '../helpers/redis-server.js'
import { JSON_HEADERS, waitForFinal } from '../commands/fixture.js'
import { AGENT_KINDS } from './reference-agent.js'
import { get, plan, refreshUntil, runPlan, startAgentAndConsole } from './console-fixture.js'

const { server: redisServer, redis } = await useRedis(t)

for (const [seed, kind] of AGENT_KINDS.entries()) {
  // the queue is of driver "other": it takes commands because its entry declares them
  t.test(`${kind}: a retry and a delete sent through the console run on the agent and show as ok`, async (t) => {
    const service = `${kind}-desk`
    const { agent, app } = await startAgentAndConsole(t, redisServer.url, kind, service)
    const jobs = plan(seed + 2)
    const ids = await runPlan(agent, jobs, 0)
    const flaky = ids.get('flaky-mail-0')!
    const broken = ids.get('broken-mail')!
    await refreshUntil(app, async () => (await get(app, `/api/pulse/queues/${service}/mail/jobs`)).jobs?.length === 3, 'the failed jobs are listed')

    const send = (type: string, jobId: string) =>
      app.inject({ method: 'POST', url: '/api/pulse/command', headers: JSON_HEADERS, payload: JSON.stringify({ service, nodeId: `${kind}-node-1`, queue: 'mail', type, jobId }) })
    const retry = await send('RETRY_JOB', flaky)
    const remove = await send('DELETE_JOB', broken)
    t.equal(retry.statusCode, 202, retry.body)
    t.equal(remove.statusCode, 202, remove.body)
    if (retry.statusCode !== 202 || remove.statusCode !== 202) return

    // the agent's next pass reads both from its stream, runs them, then runs the retried job
    const run = await agent.once()
    t.equal(run.code, 0, run.stderr)
    t.match(await waitForFinal(app, retry.json().id), { status: 'ok', type: 'RETRY_JOB', jobId: flaky })
    t.match(await waitForFinal(app, remove.json().id), { status: 'ok', type: 'DELETE_JOB', jobId: broken })

    await refreshUntil(app, async () => (await get(app, `/api/pulse/queues?service=${service}`)).queues.find((q: { name: string }) => q.name === 'mail')?.processed === 7, 'the retried job ran again')
    const mail = (await get(app, `/api/pulse/queues?service=${service}`)).queues.find((q: { name: string }) => q.name === 'mail')
    t.match(mail, { waiting: 0, failed: 1 }, 'retried and succeeded, deleted: one failed job left')
    const left = (await get(app, `/api/pulse/queues/${service}/mail/jobs`)).jobs.map((job: { id: string }) => job.id)
    t.same(left, [ids.get('flaky-mail-1')])
    t.equal(await redis.hexists(`store:${service}:mail:jobs`, broken), 0, 'the deleted job is gone from the store')
  })
}
