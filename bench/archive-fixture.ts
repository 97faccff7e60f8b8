/**
 * Archived jobs shaped like a busy fleet's: 12 services of 5 queues, 40 job names, one attempt in
 * six failing with a reason and a stack of about 1 KB, JSON data of about 300 bytes, finished over
 * 30 days in arrival order. Seeded, so every run searches the same archive.
 */
import type { ArchivedJob } from '../server/archive/store.js'
import { seededRandom } from '../test/helpers/shuffle.js'

export const BENCH_SERVICES = Array.from({ length: 12 }, (_, i) => ['api', 'billing', 'mailer', 'search', 'media', 'auth'][i % 6]! + (i < 6 ? '' : `-${i}`))
export const BENCH_QUEUES = ['default', 'emails', 'reports', 'webhooks', 'exports']
export const BENCH_NAMES = Array.from({ length: 40 }, (_, i) => ['send-invoice', 'render-pdf', 'sync-crm', 'resize-image', 'notify-user', 'charge-card', 'rebuild-index', 'export-csv'][i % 8]! + (i < 8 ? '' : `-v${i}`))
export const BENCH_REASONS = [
  'connect ECONNREFUSED 10.0.4.12:5432',
  'Connection refused by upstream payments gateway',
  'Timeout of 30000ms exceeded while waiting for lock',
  "Cannot read properties of undefined (reading 'email')",
  'Request failed with status code 429: rate limited',
  'Invalid PDF template: missing closing tag',
  'Deadlock found when trying to get lock; try restarting transaction',
  'Customer has no default payment method',
]
const PLANS = ['free', 'starter', 'pro', 'enterprise']
export const ARCHIVE_DAYS = 30
export const BENCH_END = Date.UTC(2026, 11, 1)

export function* benchJobs(count: number, seed = 7): Generator<ArchivedJob> {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const start = BENCH_END - ARCHIVE_DAYS * 86_400_000
  const step = (ARCHIVE_DAYS * 86_400_000) / count
  for (let i = 0; i < count; i++) {
    const failed = random() < 1 / 6
    const reason = failed ? pick(BENCH_REASONS) : null
    // Arrival order with jitter: records of a few seconds apart may arrive swapped.
    const finishedAt = Math.round(start + i * step + random() * 5_000)
    const durationMs = Math.round(random() * 2_000)
    yield {
      service: pick(BENCH_SERVICES),
      queue: pick(BENCH_QUEUES),
      jobId: String(1_000_000 + i),
      attempt: failed ? 1 + Math.floor(random() * 3) : 1,
      state: failed ? 'failed' : 'completed',
      name: pick(BENCH_NAMES),
      driver: 'bullmq',
      addedAt: finishedAt - durationMs - 500,
      startedAt: finishedAt - durationMs,
      finishedAt,
      durationMs,
      waitMs: 500,
      failedReason: reason,
      stack:
        reason === null
          ? null
          : [
              `Error: ${reason}`,
              ...Array.from({ length: 10 }, (_, frame) => `    at ${pick(['handler', 'process', 'runJob', 'query', 'send'])} (/srv/app/src/${pick(['jobs', 'lib', 'db'])}/module-${frame}.js:${10 + frame}:${5 + frame})`),
            ].join('\n'),
      data: JSON.stringify({
        customer: { id: Math.floor(random() * 50_000), plan: pick(PLANS), region: pick(['eu-west-1', 'us-east-1', 'ap-south-1']) },
        invoice: { number: `INV-${i}`, total: Math.round(random() * 100_000) / 100, currency: pick(['EUR', 'USD']) },
        items: Math.floor(random() * 20),
        note: 'x'.repeat(120),
      }),
      opts: '{"attempts":3,"backoff":{"type":"exponential","delay":1000}}',
      result: failed ? null : '{"ok":true}',
      appVersion: pick(['4.1.0', '4.1.1', '4.2.0']),
      nodeId: `node-${Math.floor(random() * 40)}`,
    }
  }
}
