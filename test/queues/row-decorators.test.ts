/**
 * The queue rows' decorator registry: what an area registers reaches the failed-jobs rows, bound to
 * the snapshot being rendered and to the viewer asking, and with nothing registered the rows render
 * without it. Built from the area plugins alone, without the commands area that registers the
 * buttons in the console; a hook stands in for the auth guard's locals.
 */
import t from 'tap'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { createKeys } from '@gravito/quasar/protocol'
import { useRedis } from '../helpers/redis-server.js'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { fakeClock } from '../helpers/app.js'
import views from '../../server/web/views-plugin.js'
import requestValidation from '../../server/web/validate.js'
import redisPlugin from '../../server/redis/plugin.js'
import collector from '../../server/collector/plugin.js'
import nodes from '../../server/nodes/plugin.js'
import history from '../../server/history/plugin.js'
import queues from '../../server/queues/plugin.js'
import type { QueueRowDecorator } from '../../server/queues/decorators.js'

const keys = createKeys()
const { server: redisServer, redis } = await useRedis(t)
const clock = fakeClock(Date.now())

await redis.set(keys.node('billing', 'worker-1'), JSON.stringify(sampleHeartbeat({ timestamp: clock(), id: 'worker-1', service: 'billing' })), 'EX', 3600)
await redis.set(
  keys.queues('billing'),
  JSON.stringify({ timestamp: clock(), service: 'billing', nodeId: 'worker-1', queues: [{ name: 'reports', driver: 'bullmq', metrics: { waiting: 0, failed: 2 }, failedJobs: [{ id: '7' }, { id: '8' }] }] }),
  'EX',
  3600,
)

async function consoleWith(decorators: QueueRowDecorator[]) {
  const app = Fastify({ logger: { level: 'silent' } })
  await app.register(views)
  await app.register(requestValidation)
  await app.register(redisPlugin, { url: redisServer.url, prefix: 'gravito:quasar:' })
  await app.register(collector, { clock, tickMs: 2_000, autoStart: false, partTimeoutMs: 10_000 })
  await app.register(nodes, { graceMs: 60_000, sliceMs: 50 })
  await app.register(history, { clock, sliceMs: 50, tickMs: 2_000 })
  await app.register(
    fp(async (scope) => {
      scope.addHook('onRequest', async (_request, reply) => {
        reply.locals = { ...reply.locals, auth: { user: null, session: false, csrfToken: 'csrf-token', csrfHeaders: '' } }
      })
    }),
  )
  await app.register(queues, { clock })
  await app.register(
    fp(async (scope) => {
      for (const decorator of decorators) scope.queueRowDecorators.add(decorator)
    }),
  )
  await app.ready()
  // two ticks: the queues part finds the owning node through the previous tick's nodes
  await app.collector.refresh()
  await app.collector.refresh()
  return app
}

const failedRows = (app: Awaited<ReturnType<typeof consoleWith>>, role: string) => app.inject({ url: '/queues/billing/reports/fragments/failed', headers: { 'x-role': role } })

t.test('a registered decorator reaches the rows, for the viewer asking and the snapshot rendered', async (t) => {
  const seen: { version: number; role: unknown }[] = []
  const app = await consoleWith([
    (snapshot, viewer) => {
      seen.push({ version: snapshot.version, role: viewer.headers['x-role'] })
      return { canSendCommands: viewer.headers['x-role'] === 'operator' }
    },
  ])
  t.teardown(() => app.close())
  const version = app.collector.snapshot.version

  const operator = await failedRows(app, 'operator')
  t.equal(operator.statusCode, 200)
  t.match(operator.body, /Retry job 7/, 'the operator gets buttons')
  t.match(operator.body, /Retry job 8/)
  t.match(operator.body, /Retry all failed/)
  t.same(seen.at(-1), { version, role: 'operator' }, 'bound to this viewer and the snapshot rendered')

  const viewer = await failedRows(app, 'viewer')
  t.notMatch(viewer.body, /Retry job/, 'another viewer does not')
  t.same(seen.at(-1), { version, role: 'viewer' })

  const page = await app.inject({ url: '/queues/billing/reports', headers: { 'x-role': 'operator' } })
  t.match(page.body, /Retry job 7/, 'the page that embeds the rows gets them too')
})

t.test('with none registered the rows render without it', async (t) => {
  const app = await consoleWith([])
  t.teardown(() => app.close())
  const response = await failedRows(app, 'operator')
  t.equal(response.statusCode, 200)
  t.match(response.body, /<code class="job-id" title="job id">7<\/code>/, 'the rows are there')
  t.match(response.body, /<code class="job-id" title="job id">8<\/code>/)
  t.notMatch(response.body, /Retry/, 'without buttons')
})
