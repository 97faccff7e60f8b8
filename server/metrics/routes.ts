/**
 * `GET /metrics`: the Prometheus text format. Costs no Redis command: every value is the latest
 * snapshot's, or the process's own. Not rate limited, like the pages (a scrape reads memory); never
 * stored by a proxy (server/http/cache-control.ts). Gzipped when asked, as Prometheus always asks:
 * a line per queue and state is about 100 KB for 200 queues, a tenth of that compressed.
 */
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { acceptsGzip } from '../web/send-fragment.js'

const gzipAsync = promisify(gzip)

export default async function metricsRoutes(app: FastifyInstance, options: { registry: Registry }) {
  const { registry } = options
  app.get('/metrics', async (request, reply) => {
    const text = spellNaN(await registry.metrics())
    reply.type(registry.contentType).header('vary', 'accept-encoding')
    if (!acceptsGzip(request)) return reply.send(text)
    return reply.header('content-encoding', 'gzip').send(await gzipAsync(text))
  })
}

/**
 * prom-client writes a NaN as `Nan` (the event-loop lag mean before its monitor has a sample, for
 * one); the format says `NaN`, and stricter readers than Prometheus refuse anything else. A value
 * is always the last field of its line, and a label value never holds a raw newline, so a line
 * ending in ` Nan` is a value.
 */
export function spellNaN(text: string): string {
  return text.replace(/ Nan$/gm, ' NaN')
}
