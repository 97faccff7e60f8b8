/**
 * The pulse page in a real browser: a console listening on a free port with the collector on a
 * 200 ms tick, agents that keep beating, and the page opened under the console's CSP.
 */
import type { Test } from 'tap'
import type { Page } from 'playwright-core'
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { createKeys } from '@gravito/quasar/protocol'
import { recordCspViolations } from '../helpers/browser.js'
import { buildTestApp } from '../helpers/app.js'
import { eventually } from '../helpers/eventually.js'
import { CONTENT_SECURITY_POLICY as CSP } from '../../server/security/headers.js'

const keys = createKeys()

export interface Console {
  app: FastifyInstance
  base: string
  /** what the server answered to each poll */
  fragmentStatuses: number[]
  /** moves the console's clock ahead of real time: nodes that did not beat since look silent that long */
  skipAhead(ms: number): void
}

/**
 * A console of its own per test (over an emptied Redis), listening on a free port with the
 * collector on a 200 ms tick: dead nodes of an earlier test would otherwise linger for the grace
 * period.
 */
export async function startConsole(t: Test, redis: Redis, redisUrl: string): Promise<Console> {
  await redis.flushall()
  // health is judged by the console's clock, so a node is made stale or dead by moving that clock
  // past its last beat, not by writing an old timestamp
  let offset = 0
  const app = await buildTestApp({ redisUrl, autoStart: true, tickMs: 200, clock: () => Date.now() + offset })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  const fragmentStatuses: number[] = []
  app.server.on('request', (request, response) => {
    if (request.url?.startsWith('/fragments/pulse/nodes')) response.on('finish', () => fragmentStatuses.push(response.statusCode))
  })
  return { app, base, fragmentStatuses, skipAhead: (ms) => void (offset += ms) }
}

export interface FakeNode {
  service: string
  nodeId: string
  payload: Record<string, unknown>
  /** written once, then silent: keepBeating leaves it alone */
  silent?: boolean
}

/** Rewrites every node's heartbeat now, as agents beating would; returns a stop function. */
export function keepBeating(redis: Redis, nodes: FakeNode[], everyMs = 200): () => void {
  let written = false
  const write = async () => {
    const now = Date.now()
    const pipeline = redis.pipeline()
    for (const node of nodes) {
      if (node.silent && written) continue
      pipeline.set(keys.node(node.service, node.nodeId), JSON.stringify({ ...node.payload, timestamp: now }), 'EX', 30)
      pipeline.zadd(keys.nodeIndex(), now, keys.indexMember(node.service, node.nodeId))
    }
    await pipeline.exec()
    written = true
  }
  void write()
  const timer = setInterval(() => void write().catch(() => {}), everyMs)
  return () => clearInterval(timer)
}

export async function openPulse(page: Page, base: string, url = '/pulse') {
  await recordCspViolations(page)
  const response = await page.goto(base + url)
  if (response?.headers()['content-security-policy'] !== CSP) throw new Error('the page is not served under the console CSP')
  await page.waitForFunction(() => 'htmx' in window)
}

export async function waitForNodes(app: FastifyInstance, count: number) {
  await eventually(async () => {
    const body = (await app.inject('/api/pulse/nodes')).json() as { services: { nodes: unknown[] }[] }
    return body.services.reduce((sum, s) => sum + s.nodes.length, 0) >= count
  }, `${count} nodes in the snapshot`)
}
