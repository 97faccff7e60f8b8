/**
 * The console as it runs in production (collector loop, answers cached per snapshot) plus
 * bull-board's queue API on the same server and the same Redis, for the queue benchmark. bull-board
 * is built with `createBullBoard` and `BullMQAdapter` as its docs show; its route handlers are
 * mounted under `/bull-board` by a minimal server adapter (the job of @bull-board/fastify, which is
 * not installed), called exactly as that adapter calls them. Prints the port once the console's
 * snapshot holds every queue. Args: redis URL, then the queue names.
 */
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { Queue } from 'bullmq'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import type { AppControllerRoute, BullBoardQueues, IServerAdapter, UIConfig } from '@bull-board/api/typings/app'
import zenith from '../server/app.js'
import { parseConfig } from '../server/config.js'
import { queuesOf } from '../server/queues/service.js'

const [redisUrl, ...names] = process.argv.slice(2) as [string, ...string[]]
const config = parseConfig({ selfMonitor: false, logLevel: 'warn', tickMs: 2000 })
// logs to stderr: stdout carries only the port, for the parent
const app = Fastify({ logger: { level: 'warn', stream: process.stderr } })
await app.register(fp(async (scope) => zenith(scope, { config: { ...config, redisUrl }, clock: Date.now, autoStart: true })))

/** Collects what createBullBoard hands a server adapter; only the API routes are served. */
function captureAdapter() {
  const captured: { queues?: BullBoardQueues; routes: AppControllerRoute[]; uiConfig: UIConfig } = { routes: [], uiConfig: {} }
  const adapter: IServerAdapter = {
    setQueues: (queues) => ((captured.queues = queues), adapter),
    setViewsPath: () => adapter,
    setStaticPath: () => adapter,
    setEntryRoute: () => adapter,
    setErrorHandler: () => adapter,
    setApiRoutes: (routes) => ((captured.routes = routes), adapter),
    setUIConfig: (uiConfig) => ((captured.uiConfig = uiConfig), adapter),
  }
  return { adapter, captured }
}

const queues = names.map((name) => new Queue(name, { connection: { url: redisUrl } }))
const { adapter, captured } = captureAdapter()
createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: adapter })
for (const route of captured.routes) {
  for (const path of ([] as string[]).concat(route.route)) {
    app.route({
      method: ([] as string[]).concat(route.method).map((m) => m.toUpperCase()),
      url: `/bull-board${path}`,
      handler: async (request, reply) => {
        const response = await route.handler({
          queues: captured.queues!,
          uiConfig: captured.uiConfig,
          params: request.params as Record<string, string>,
          query: request.query as Record<string, string>,
          body: (request.body ?? {}) as Record<string, unknown>,
          headers: request.headers as Record<string, string>,
        })
        return reply.status(response.status ?? 200).send(response.body)
      },
    })
  }
}
app.addHook('onClose', async () => {
  await Promise.all(queues.map((queue) => queue.close()))
})

await app.listen({ host: '127.0.0.1', port: 0 })
// discovery walks the keyspace across ticks: wait until every queue is in the snapshot
while (queuesOf(app.collector.snapshot).length < names.length) await new Promise((resolve) => setTimeout(resolve, 200))
const address = app.server.address()
process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`)
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
