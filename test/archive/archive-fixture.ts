/**
 * Archived jobs for the store contract, and a reference model of what a search must return, so
 * each engine is checked against plain code rather than against itself. Seeded: the same rows
 * and orders on every run.
 */
import type { ArchivedJob, JobQuery } from '../../server/archive/store.js'
import { seededRandom } from '../helpers/shuffle.js'

export const SERVICES = ['api', 'billing', 'mailer']
export const QUEUES = ['emails', 'reports', 'default']
export const NAMES = ['send-email', 'build.report', 'charge card', 'sync_users', 'near and far']
export const VERSIONS = ['1.0.0', '1.1.0', '2.0.0-beta']
export const REASONS = [
  'Connection refused (ECONNREFUSED)',
  'Timeout: job took "too long" and was stopped',
  "Cannot read properties of undefined (reading 'id')",
  'Rate limited; retry after 30s',
  'NEAR(failure) * star of the show',
  'quota exceeded for user',
]
export const BASE_TIME = Date.UTC(2026, 10, 1)

/** `count` distinct jobs' attempts; finishedAt takes few distinct values so that many rows tie. */
export function makeJobs(count: number, seed: number): ArchivedJob[] {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const jobs: ArchivedJob[] = []
  for (let i = 0; jobs.length < count; i++) {
    const attempts = 1 + Math.floor(random() * 3)
    const service = pick(SERVICES)
    const queue = pick(QUEUES)
    const jobId = i % 7 === 0 ? `job:${i} "x"` : String(1000 + i)
    for (let attempt = 1; attempt <= attempts && jobs.length < count; attempt++) {
      const failed = attempt < attempts || random() < 0.3
      const reason = failed ? pick(REASONS) : null
      const finishedAt = BASE_TIME + Math.floor(random() * 60) * 1000
      jobs.push({
        service,
        queue,
        jobId,
        attempt,
        state: failed ? 'failed' : 'completed',
        name: random() < 0.1 ? null : pick(NAMES),
        driver: 'bullmq',
        addedAt: finishedAt - 5000,
        startedAt: finishedAt - 1000,
        finishedAt,
        durationMs: 1000,
        waitMs: 4000,
        failedReason: reason,
        stack: reason === null ? null : `Error: ${reason}\n    at handler (/app/src/worker-${Math.floor(random() * 4)}.js:10:5)\n    at process.tick`,
        data: JSON.stringify({ user: { id: Math.floor(random() * 5), plan: pick(['pro', 'free']) }, total: pick([12.5, 100, 7]), 'odd key': pick(['a.b', 'x']), flag: random() < 0.5 }),
        opts: JSON.stringify({ attempts }),
        result: failed ? null : JSON.stringify({ ok: true }),
        appVersion: random() < 0.15 ? null : pick(VERSIONS),
        nodeId: `node-${Math.floor(random() * 3)}`,
      })
    }
  }
  return jobs
}

export const keyOf = (job: { service: string; queue: string; jobId: string; attempt: number }): string => JSON.stringify([job.service, job.queue, job.jobId, job.attempt])

const WORD_CHARACTER = /[\p{L}\p{N}]/u

function tokens(text: string | null): string[] {
  return text === null
    ? []
    : text
        .toLowerCase()
        .split(/[^\p{L}\p{N}]+/u)
        .filter(Boolean)
}

function containsPhrase(text: string | null, phrase: string): boolean {
  const haystack = tokens(text)
  const needle = tokens(phrase)
  for (let i = 0; i + needle.length <= haystack.length; i++) if (needle.every((token, j) => haystack[i + j] === token)) return true
  return false
}

/** Text with a letter or digit matches as a phrase of whole words (any case); text without one as a substring. */
function textMatches(columns: (string | null)[], text: string): boolean {
  if (WORD_CHARACTER.test(text)) return columns.some((column) => containsPhrase(column, text))
  return columns.some((column) => column !== null && column.includes(text))
}

function valueAt(data: string | null, path: string[]): unknown {
  let node: unknown = data === null ? undefined : JSON.parse(data)
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

/** What the contract says a query matches: every list is "any of", different fields "all of". */
export function matches(job: ArchivedJob, query: JobQuery): boolean {
  const anyOf = (values: string[] | undefined, value: string | null) => !values || values.length === 0 || (value !== null && values.includes(value))
  if (!anyOf(query.services, job.service) || !anyOf(query.queues, job.queue) || !anyOf(query.names, job.name)) return false
  if (!anyOf(query.states, job.state) || !anyOf(query.ids, job.jobId) || !anyOf(query.versions, job.appVersion)) return false
  if (query.since !== undefined && job.finishedAt < query.since) return false
  if (query.until !== undefined && job.finishedAt >= query.until) return false
  if (query.error && !textMatches([job.failedReason, job.stack], query.error)) return false
  for (const word of query.words ?? []) if (word !== '' && !textMatches([job.name, job.failedReason, job.stack], word)) return false
  for (const { path, value } of query.data ?? []) {
    const found = valueAt(job.data, path)
    if (found === undefined || found === null) return false
    if (typeof found === 'string' ? found !== value : JSON.stringify(found) !== value) return false
  }
  return true
}
