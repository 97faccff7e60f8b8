/**
 * A fleet that looks like a real, busy one, for tests of what every page looks like: several
 * services whose nodes carry long names and hostnames (one silent, one over its CPU alert), real
 * BullMQ queues with long names and failed jobs watched by a real agent, slow requests on long
 * routes with every status, and a command in the audit log.
 */
import type { Test } from 'tap'
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { startPulse } from '@gravito/quasar'
import { createKeys } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../helpers/heartbeat.js'
import { eventually } from '../helpers/eventually.js'
import { failingQueue } from '../commands/bullmq.js'
import { TOKEN } from '../commands/signed.js'

const keys = createKeys()

export const API_TOKEN = 'seeded-fleet-api-token-0123456789'
/** the one alert rule: fires at once on the node made hot below */
export const ALERT_RULES = { rules: [{ name: 'cpu-high-on-a-production-payments-reconciliation-node', metric: 'cpu', above: 90, for: '0s' }] }

export const WORKER_SERVICE = 'payments-reconciliation-worker-eu-west-1'
export const WORKER_NODE = 'payments-reconciliation-worker-7f9c8d6b5-xk2pq'
export const QUEUE_NAMES = ['transactional-email-delivery-with-exponential-backoff-eu-west-1', 'invoice.pdf.render@high-priority.tenant-0042-acme-corporation-international', 'webhooks']

interface FleetNode {
  service: string
  nodeId: string
  hostname: string
  cpu: number
  /** beats once, then falls silent */
  silent?: boolean
}

const NODES: FleetNode[] = [
  ...[1, 2, 3, 10].map((i) => ({ service: 'api', nodeId: `api-${i}`, hostname: `ip-10-0-1-${20 + i}.eu-west-1.compute.internal`, cpu: 20 + i * 5 })),
  { service: 'checkout-frontend-gateway-europe', nodeId: 'checkout-frontend-gateway-europe-deployment-5d8f7c9b4-abcde', hostname: 'gke-production-europe-west1-default-pool-3f2a1b0c-9xyz', cpu: 97 },
  { service: 'checkout-frontend-gateway-europe', nodeId: 'checkout-frontend-gateway-europe-deployment-5d8f7c9b4-fghij', hostname: 'gke-production-europe-west1-default-pool-3f2a1b0c-8wvu', cpu: 30, silent: true },
  { service: WORKER_SERVICE, nodeId: 'payments-reconciliation-worker-7f9c8d6b5-zz9yy', hostname: 'payments-reconciliation-worker-7f9c8d6b5-zz9yy.internal', cpu: 55 },
  { service: 'billing', nodeId: 'billing-1', hostname: 'billing-7d9f-x2k', cpu: 12 },
]

/** Rewrites every node's heartbeat every 200 ms, as agents beating would; returns a stop function. */
export function keepFleetBeating(redis: Redis): () => void {
  let written = false
  const write = async () => {
    const now = Date.now()
    const pipeline = redis.pipeline()
    for (const node of NODES) {
      if (node.silent && written) continue
      const beat = sampleHeartbeat({
        timestamp: now,
        id: node.nodeId,
        service: node.service,
        hostname: node.hostname,
        cpu: { system: node.cpu, process: 4.5, cores: 16 },
        appVersion: '2026.12.01-build.4711+sha.9f8e7d6c5b4a',
      })
      pipeline.set(keys.node(node.service, node.nodeId), JSON.stringify(beat), 'EX', 30)
      pipeline.zadd(keys.serviceNodeIndex(node.service), now, node.nodeId)
    }
    await pipeline.exec()
    written = true
  }
  void write()
  const timer = setInterval(() => void write().catch(() => {}), 200)
  return () => clearInterval(timer)
}

const ROUTES = [
  ['GET', '/api/v2/organisations/:organisationId/billing-accounts/:billingAccountId/invoices/:invoiceId/line-items/export.csv', 200],
  ['POST', '/api/v2/checkout/sessions/:sessionId/payment-intents/confirm-with-three-d-secure', 502],
  ['PUT', '/webhooks/stripe/events', 404],
] as const

/** Slow requests on long routes (200, 404, 502) and a slow job with a long error. */
export async function writeSlowEntries(redis: Redis): Promise<void> {
  const now = Date.now()
  const pipeline = redis.pipeline()
  for (let i = 0; i < 12; i++) {
    const [method, name, status] = ROUTES[i % ROUTES.length]!
    pipeline.xadd(
      keys.slow('checkout-frontend-gateway-europe'),
      '*',
      'kind',
      'request',
      'name',
      name,
      'method',
      method,
      'status',
      String(status),
      'durationMs',
      String(1200 + i * 350),
      'timestamp',
      String(now - i * 60_000),
      'nodeId',
      NODES[4]!.nodeId,
    )
  }
  pipeline.xadd(
    keys.slow(WORKER_SERVICE),
    '*',
    'kind',
    'job',
    'name',
    'ReconcileLedgerEntriesForSettlementBatchJob',
    'queue',
    QUEUE_NAMES[0]!,
    'jobId',
    '1',
    'attempts',
    '3',
    'durationMs',
    '48210',
    'timestamp',
    String(now),
    'nodeId',
    WORKER_NODE,
    'error',
    'SettlementBatchTimeoutError: upstream acquirer did not answer within 45000 ms (batch 2026-12-01T23:59:59Z)',
  )
  await pipeline.exec()
}

/**
 * Real BullMQ queues with long names and failed jobs, watched by a real agent that takes
 * commands; one retry is sent through the API so /audit has an entry. Returns the queue page URL.
 */
export async function startQueuesAndAudit(t: Test, app: FastifyInstance, redisUrl: string): Promise<string> {
  const queues = await Promise.all(QUEUE_NAMES.map((name, i) => failingQueue(redisUrl, name, 3 - i)))
  for (const queue of queues) t.teardown(() => queue.close())
  const agent = startPulse({ service: WORKER_SERVICE, nodeId: WORKER_NODE, url: redisUrl, token: TOKEN, intervalMs: 300, onError: () => {} })
  t.teardown(() => agent.stop())
  for (const name of QUEUE_NAMES) agent.monitorQueue(name, 'bullmq')
  const auth = { authorization: `Bearer ${API_TOKEN}` }
  await eventually(async () => {
    const answer = await app.inject({ url: `/api/pulse/queues/${WORKER_SERVICE}/${encodeURIComponent(QUEUE_NAMES[0]!)}/jobs?state=failed`, headers: auth })
    return answer.statusCode === 200 && (answer.json() as { jobs: unknown[] }).jobs.length === 3
  }, 'the agent reports its failed jobs')
  // the agent's node reaches the snapshot a tick after its queues may: until then the console answers 404 and sends nothing
  let id = ''
  await eventually(async () => {
    const sent = await app.inject({
      method: 'POST',
      url: '/api/pulse/command',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ service: WORKER_SERVICE, nodeId: WORKER_NODE, type: 'RETRY_JOB', queue: QUEUE_NAMES[0], jobId: queues[0]!.failedIds[0] }),
    })
    id = sent.statusCode === 202 ? (sent.json() as { id: string }).id : ''
    return id !== ''
  }, 'the retry accepted')
  await eventually(async () => (await app.inject({ url: `/api/pulse/command/${id}`, headers: auth })).json().status !== 'pending', 'the retry acknowledged')
  return `/queues/${WORKER_SERVICE}/${encodeURIComponent(QUEUE_NAMES[0]!)}`
}

/** How many nodes the fleet has, for a wait on the snapshot. */
export const FLEET_NODE_COUNT = NODES.length + 1
export const HOT_NODE_PAGE = `/pulse/${NODES[4]!.service}/${NODES[4]!.nodeId}`
