/**
 * Archived jobs for the PostgreSQL store's tests: many rows across services, queues, names,
 * states, attempts and versions, with finish times that tie often (keyset pages must break ties),
 * and a reference search in plain JavaScript to compare the engine's answers with.
 */
import type { ArchivedJob, JobQuery } from '../../server/archive/store.js'

export const BASE_TIME = Date.UTC(2026, 10, 1)
export const SERVICES = ['billing', 'mail', 'search']
export const QUEUES = ['default', 'emails', 'reports', 'critical']
export const NAMES = ['send.welcome', 'charge_card', 'rebuild-index', 'report', 'sync']
export const REASONS = ['connect ECONNREFUSED 127.0.0.1:6379', 'card declined by bank', 'timeout after 30000 ms', 'bank timeout while connecting']
export const VERSIONS = ['1.0.0', '1.1.0', '2.0.0-rc.1']

/**
 * Job n is attempt n % 3 + 1 of job floor(n / 3); the fields cycle with different periods, so
 * filters combine into many different sets rather than always the same rows.
 */
export function makeJob(n: number, overrides: Partial<ArchivedJob> = {}): ArchivedJob {
  const job = Math.floor(n / 3)
  const failed = [0, 3, 5].includes(n % 7)
  const finishedAt = BASE_TIME + (n % 40) * 1000
  return {
    service: SERVICES[job % SERVICES.length]!,
    queue: QUEUES[job % QUEUES.length]!,
    jobId: `job-${job}`,
    attempt: (n % 3) + 1,
    state: failed ? 'failed' : 'completed',
    name: NAMES[job % NAMES.length]!,
    driver: 'bullmq',
    addedAt: finishedAt - 500,
    startedAt: finishedAt - 200,
    finishedAt,
    durationMs: 200,
    waitMs: 300,
    failedReason: failed ? REASONS[n % REASONS.length]! : null,
    stack: failed ? `Error: ${REASONS[n % REASONS.length]}\n    at Worker.process (/app/src/worker.js:${n}:13)` : null,
    // keys out of alphabetical order: the archive must hand back the text as written
    data: JSON.stringify({ user: { id: n % 7, plan: n % 2 === 0 ? 'free' : 'pro' }, amount: n, tags: [`t${n % 5}`] }),
    opts: JSON.stringify({ attempts: 3 }),
    result: failed ? null : JSON.stringify({ ok: true, n }),
    appVersion: VERSIONS[Math.floor(n / 7) % VERSIONS.length]!,
    nodeId: `node-${n % 4}`,
    ...overrides,
  }
}

export const keyOf = (job: Pick<ArchivedJob, 'service' | 'queue' | 'jobId' | 'attempt'>): string => JSON.stringify([job.service, job.queue, job.jobId, job.attempt])

/** Words as both engines' tokenizers split them: runs of letters and digits, lower-cased. */
export const wordsOf = (text: string | null): string[] =>
  (text ?? '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)

function containsPhrase(haystack: string[], phrase: string[]): boolean {
  if (phrase.length === 0) return true
  for (let i = 0; i + phrase.length <= haystack.length; i++) if (phrase.every((word, j) => haystack[i + j] === word)) return true
  return false
}

function dataAt(data: string | null, path: string[]): unknown {
  let node: unknown = data === null ? undefined : JSON.parse(data)
  for (const key of path) node = node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined
  return node
}

/** What a search must find, in plain JavaScript: the reference the engine is compared with. */
export function matches(job: ArchivedJob, query: JobQuery): boolean {
  const anyOf = (list: string[] | undefined, value: string | null) => !list || list.length === 0 || (value !== null && list.includes(value))
  if (!anyOf(query.services, job.service) || !anyOf(query.queues, job.queue) || !anyOf(query.names, job.name)) return false
  if (!anyOf(query.states, job.state) || !anyOf(query.ids, job.jobId) || !anyOf(query.versions, job.appVersion)) return false
  if (query.since !== undefined && job.finishedAt < query.since) return false
  if (query.until !== undefined && job.finishedAt >= query.until) return false
  // the error text is the failed reason followed by the stack, as one text
  const errorWords = wordsOf(`${job.failedReason ?? ''} ${job.stack ?? ''}`)
  if (query.error !== undefined && !containsPhrase(errorWords, wordsOf(query.error))) return false
  const everyWord = [...wordsOf(job.name), ...errorWords]
  if (query.words && !query.words.flatMap(wordsOf).every((word) => everyWord.includes(word))) return false
  for (const filter of query.data ?? []) {
    const value = dataAt(job.data, filter.path)
    if (!((typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') && String(value) === filter.value)) return false
  }
  return true
}
