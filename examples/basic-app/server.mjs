// A tiny HTTP service monitored by Zenith: one import, one call, plus a queue and a slow route.
// Run from the repository root after `npm install`: REDIS_URL=redis://127.0.0.1:6379 node examples/basic-app/server.mjs
import { createServer } from 'node:http'
import { startPulse } from '@gravito/quasar'

const pulse = startPulse({ service: 'example-api', url: process.env.REDIS_URL })
// any Redis list can be watched; BullMQ and Laravel queues also get failed jobs, retry and delete
pulse.monitorQueue('example-jobs', 'redis-list')

const port = Number(process.env.PORT ?? 3001)
const server = createServer(async (request, response) => {
  const started = performance.now()
  if (request.url === '/report') await new Promise((resolve) => setTimeout(resolve, 1200))
  if (request.url === '/enqueue') await pulse.appRedis.lpush('example-jobs', JSON.stringify({ at: Date.now() })).catch(() => {})
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ hello: 'world', path: request.url }))
  const durationMs = performance.now() - started
  // what the ready-made Fastify plugin and Express middleware do for you
  if (durationMs >= 1000) pulse.recordSlow({ kind: 'request', name: `GET ${request.url}`, durationMs, status: 200 })
})
server.listen(port, () => console.log(`example-api listening on port ${server.address().port}`))

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    server.close()
    await pulse.stop()
    process.exit(0)
  })
}
