// A tiny HTTP service monitored by Zenith: one import, one call.
// Run from the repository root after `npm install`: REDIS_URL=redis://127.0.0.1:6379 node examples/basic-app/server.mjs
import { createServer } from 'node:http'
import { startPulse } from '@gravito/quasar'

const pulse = startPulse({ service: 'example-api', url: process.env.REDIS_URL })

const port = Number(process.env.PORT ?? 3001)
const server = createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ hello: 'world', path: request.url }))
})
server.listen(port, () => console.log(`example-api listening on port ${server.address().port}`))

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    server.close()
    await pulse.stop()
    process.exit(0)
  })
}
