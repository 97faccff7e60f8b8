/** Helpers of the node rendering tests: a heartbeat written as the SDK writes it, an app on a fake clock, and cuts of the markup. */
import type { Test } from 'tap'
import type { Redis } from 'ioredis'
import { createKeys } from '@gravito/quasar/protocol'
import { buildTestApp, fakeClock } from '../helpers/app.js'

export const keys = createKeys()

/** Writes a heartbeat the way the SDK does: the key with its expiry, and the index entry. */
export async function indexedBeat(redis: Redis, service: string, nodeId: string, payload: Record<string, unknown>, at: number) {
  await redis.multi().set(keys.node(service, nodeId), JSON.stringify(payload), 'EX', 30).zadd(keys.nodeIndex(), at, keys.indexMember(service, nodeId)).exec()
}

export async function renderingApp(t: Test, redisUrl: string, options: { graceMs?: number } = {}) {
  const clock = fakeClock()
  const app = await buildTestApp({ redisUrl, clock, ...options })
  t.teardown(() => app.close())
  return { app, clock }
}

/** The HTML of one node card, by its DOM id. */
export function card(html: string, service: string, nodeId: string): string {
  const at = html.indexOf(`id="node:${service}:${nodeId}"`)
  if (at < 0) throw new Error(`card ${service}:${nodeId} is not on the page`)
  const start = html.lastIndexOf('<article ', at)
  return html.slice(start, html.indexOf('</article>', start) + '</article>'.length)
}

/** The content of the polled region of the full page. */
export function pollRegion(page: string): string {
  const open = page.indexOf('<div id="pulse-nodes"')
  const start = page.indexOf('>', open) + 2 // the tag and its newline
  const end = page.lastIndexOf('</div>\n  </main>')
  return page.slice(start, end)
}
