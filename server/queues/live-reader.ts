/**
 * `app.liveJobs`: reads a queue's jobs where they are. A discovered queue is read directly from
 * the console's Redis by its driver (read-only); an agent's queue is asked of its agent with the
 * signed, read-only LIST_JOBS request, through the lister the commands area plugs in (it owns
 * signing and the node streams; the queues area never imports it).
 *
 * Pages are cached per (queue, state, page) for a few seconds, and a request in flight is shared:
 * many viewers of one queue cost one read, or one LIST_JOBS, per page and period. The cache holds
 * no payloads (pages never carry any) and at most CACHE_ENTRIES pages.
 */
import type { Clock } from '../clock.js'
import type { RedisClient } from '../redis/client.js'
import { createBullmqLiveReader } from './live-bullmq.js'
import { createLaravelLiveReader } from './live-laravel.js'
import { LIVE_JOBS_PAGE_SIZE, type LiveJobDetail, type LiveJobPage, type LiveJobReader, type LiveJobState } from './live-jobs.js'
import type { QueueRecord } from './records.js'

/** How an agent's queue is listed: implemented by the commands area (LIST_JOBS). */
export interface AgentJobLister {
  list(record: QueueRecord, state: LiveJobState, page: number): Promise<LiveJobPage>
  get(record: QueueRecord, jobId: string): Promise<LiveJobDetail | null>
}

export interface LiveJobs extends LiveJobReader {
  /** plugs in the agents' side; until then an agent's queue answers with an error */
  setAgentLister(lister: AgentJobLister): void
}

declare module 'fastify' {
  interface FastifyInstance {
    liveJobs: LiveJobs
  }
}

/** how long a page is served from the cache (ms) */
export const LIVE_PAGE_CACHE_MS = 3_000
const CACHE_ENTRIES = 500

export function createLiveJobReader(redis: RedisClient, clock: Clock): LiveJobs {
  const bullmq = createBullmqLiveReader(redis)
  const laravel = createLaravelLiveReader(redis)
  let agents: AgentJobLister | null = null
  const pages = new Map<string, { at: number; page: Promise<LiveJobPage> }>()

  function read(record: QueueRecord, state: LiveJobState, page: number): Promise<LiveJobPage> {
    const empty: LiveJobPage = { jobs: [], state, page, pageSize: LIVE_JOBS_PAGE_SIZE, total: null }
    if (record.source === 'agent') {
      if (!agents) return Promise.resolve({ ...empty, error: 'jobs of an agent queue cannot be listed: commands are disabled (no QUASAR_TOKEN)' })
      return agents.list(record, state, page)
    }
    if (record.prefix === undefined) return Promise.resolve({ ...empty, error: 'the queue has no key prefix to read it by' })
    if (record.driver === 'bullmq') return bullmq.list(record.prefix, record.name, state, page)
    if (record.driver === 'laravel') return laravel.list(record.prefix, record.name, state, page)
    return Promise.resolve({ ...empty, error: `${record.driver} queues cannot be listed` })
  }

  return {
    list(record, state, page) {
      const key = JSON.stringify([record.source, record.service, record.name, record.nodeId ?? '', state, page])
      const now = clock()
      const cached = pages.get(key)
      if (cached && now - cached.at < LIVE_PAGE_CACHE_MS) return cached.page
      const answer = read(record, state, page)
      pages.delete(key)
      pages.set(key, { at: now, page: answer })
      // a failed read is not kept: the next viewer tries again
      answer.catch(() => pages.get(key)?.page === answer && pages.delete(key))
      for (const [old, entry] of pages) {
        if (pages.size <= CACHE_ENTRIES && now - entry.at < LIVE_PAGE_CACHE_MS) break
        pages.delete(old)
      }
      return answer
    },
    async get(record, jobId) {
      if (record.source === 'agent') return agents ? agents.get(record, jobId) : null
      if (record.prefix === undefined) return null
      if (record.driver === 'bullmq') return bullmq.get(record.prefix, record.name, jobId)
      return null
    },
    setAgentLister(lister) {
      agents = lister
    },
  }
}
