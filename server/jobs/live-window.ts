/**
 * The live half of a search: the jobs still in the matching queues' own Redis, read through
 * `app.liveJobs` (server/queues/live-jobs.ts). Reading a queue costs Redis commands (or a signed
 * LIST_JOBS round trip to an agent), so a window is bounded in queues and pages per state, read
 * a few queues at a time, and shared by every search of one snapshot version: paging through
 * results, or two people searching, read each queue once per tick.
 */
import type { LiveJob, LiveJobReader, LiveJobState } from '../queues/live-jobs.js'
import type { QueueRecord } from '../queues/records.js'

export interface LiveWindowBounds {
  /** queues read per search; more matching queues make the search partial */
  queues: number
  /** pages read per queue and state (a page is LIVE_JOBS_PAGE_SIZE jobs) */
  pages: number
  /** queues read at once */
  concurrency: number
}

export const DEFAULT_LIVE_WINDOW: LiveWindowBounds = { queues: 25, pages: 2, concurrency: 4 }

export interface LiveWindowJob extends LiveJob {
  service: string
  queue: string
}

export interface LiveWindow {
  /** each job once, as first read */
  jobs: LiveWindowJob[]
  /** what the bounds or the readers left out, in plain words */
  partial: string[]
}

/** Windows kept per snapshot version: enough for the few searches of one tick. */
const CACHED_WINDOWS = 16

export function createLiveWindows(reader: LiveJobReader, bounds: LiveWindowBounds = DEFAULT_LIVE_WINDOW) {
  let version = -1
  const cache = new Map<string, Promise<LiveWindow>>()

  return function liveWindow(snapshotVersion: number, records: readonly QueueRecord[], states: readonly LiveJobState[]): Promise<LiveWindow> {
    if (snapshotVersion !== version) {
      version = snapshotVersion
      cache.clear()
    }
    const key = JSON.stringify([records.map((record) => [record.service, record.name]), states])
    let window = cache.get(key)
    if (!window) {
      if (cache.size >= CACHED_WINDOWS) cache.delete(cache.keys().next().value!)
      window = readWindow(reader, bounds, records, states)
      cache.set(key, window)
    }
    return window
  }
}

async function readWindow(reader: LiveJobReader, bounds: LiveWindowBounds, records: readonly QueueRecord[], states: readonly LiveJobState[]): Promise<LiveWindow> {
  const partial: string[] = []
  const read = records.slice(0, bounds.queues)
  if (records.length > read.length) partial.push(`live jobs were read from the first ${read.length} of ${records.length} matching queues; add service: or queue: to narrow the search`)
  const perQueue: LiveWindowJob[][] = read.map(() => [])
  let next = 0
  const worker = async () => {
    while (next < read.length) {
      const index = next++
      const record = read[index]!
      for (const state of states) perQueue[index]!.push(...(await readState(reader, bounds, record, state, partial)))
    }
  }
  await Promise.all(Array.from({ length: Math.min(bounds.concurrency, read.length) }, worker))
  // a job moving between states while it is read shows up twice: keep its first reading
  const seen = new Set<string>()
  const jobs: LiveWindowJob[] = []
  for (const job of perQueue.flat()) {
    const key = liveKey(job.service, job.queue, job.id)
    if (seen.has(key)) continue
    seen.add(key)
    jobs.push(job)
  }
  return { jobs, partial }
}

async function readState(reader: LiveJobReader, bounds: LiveWindowBounds, record: QueueRecord, state: LiveJobState, partial: string[]): Promise<LiveWindowJob[]> {
  const jobs: LiveWindowJob[] = []
  const where = `${record.service}/${record.name}`
  for (let page = 1; page <= bounds.pages; page++) {
    let answer
    try {
      answer = await reader.list(record, state, page)
    } catch (error) {
      partial.push(`${where}: ${state} jobs could not be read (${error instanceof Error ? error.message : String(error)})`)
      return jobs
    }
    if (answer.error) {
      partial.push(`${where}: ${state} jobs could not be read (${answer.error})`)
      return jobs
    }
    for (const job of answer.jobs) jobs.push({ ...job, service: record.service, queue: record.name })
    if (answer.jobs.length < answer.pageSize) return jobs
    const readSoFar = page * answer.pageSize
    if (page === bounds.pages && (answer.total === null || answer.total > readSoFar)) {
      partial.push(`${where}: only the first ${readSoFar}${answer.total === null ? '' : ` of ${answer.total}`} ${state} jobs were searched`)
    }
  }
  return jobs
}

/** One job of one queue, as the de-duplication of live and archived rows knows it. */
export function liveKey(service: string, queue: string, jobId: string): string {
  return JSON.stringify([service, queue, jobId])
}
