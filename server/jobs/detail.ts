/**
 * One job in full: from its queue when the queue still holds it (live), else from the archive,
 * with every archived attempt either way. Pure: the routes read the sources and pass them in.
 */
import type { CommandType } from '@gravito/quasar/protocol'
import type { ArchivedJob } from '../archive/store.js'
import type { LiveJobDetail } from '../queues/live-jobs.js'
import type { QueueRecord } from '../queues/records.js'

export interface JobAttemptView {
  attempt: number
  state: string
  startedAt: number | null
  finishedAt: number | null
  durationMs: number | null
  failedReason: string | null
  stack: string | null
  appVersion: string | null
  nodeId: string | null
}

export interface TimelineEntry {
  at: number
  what: string
}

export interface JobDetailView {
  service: string
  queue: string
  jobId: string
  origin: 'live' | 'archived'
  name: string | null
  state: string
  attemptsMade: number | null
  addedAt: number | null
  failedReason: string | null
  /** JSON text, bounded and redacted, pretty-printed when it parses */
  data: string | null
  opts: string | null
  result: string | null
  /** archived attempts oldest first; then, for a live job, the traces its queue keeps */
  attempts: JobAttemptView[]
  /** live traces not matched to an archived attempt (oldest first) */
  liveStacks: string[]
  logs: string[]
  timeline: TimelineEntry[]
  /** the commands the page offers for this job: what the queue declares and the job's state allows */
  commands: CommandType[]
  nodeId: string | null
  readOnlyReason: string | null
}

export function buildJobDetail(service: string, queue: string, jobId: string, record: QueueRecord | null, live: LiveJobDetail | null, archived: readonly ArchivedJob[]): JobDetailView | null {
  if (!live && archived.length === 0) return null
  const newest = archived[archived.length - 1]
  const attempts = archived.map(toAttempt)
  // a live job's traces are one per failed attempt; those the archive holds already show there
  const archivedTraces = new Set(archived.map((row) => row.stack).filter((stack): stack is string => !!stack))
  const liveStacks = live ? live.stacks.filter((stack) => !archivedTraces.has(stack)) : []
  return {
    service,
    queue,
    jobId,
    origin: live ? 'live' : 'archived',
    name: live?.name ?? newest?.name ?? null,
    state: live?.state ?? newest!.state,
    attemptsMade: live ? live.attemptsMade : archived.length,
    addedAt: live?.addedAt ?? firstOf(archived.map((row) => row.addedAt)),
    failedReason: live ? (live.failedReason ?? null) : (newest!.failedReason ?? null),
    data: pretty(live ? live.data : (newest!.data ?? null)),
    opts: pretty(live ? live.opts : (newest!.opts ?? null)),
    result: pretty(live ? live.result : (newest!.result ?? null)),
    attempts,
    liveStacks,
    logs: live?.logs ?? [],
    timeline: timeline(live, archived),
    commands: live && record ? commandsFor(record, live) : [],
    nodeId: record?.nodeId ?? null,
    readOnlyReason: !live ? 'the job is no longer in its queue' : record && record.commands.length === 0 ? (record.readOnlyReason ?? 'the queue is read-only') : null,
  }
}

function toAttempt(row: ArchivedJob): JobAttemptView {
  return {
    attempt: row.attempt,
    state: row.state,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    durationMs: row.durationMs,
    failedReason: row.failedReason,
    stack: row.stack,
    appVersion: row.appVersion,
    nodeId: row.nodeId,
  }
}

/** Retry is for a failed job; Delete for any job its queue still holds. */
function commandsFor(record: QueueRecord, live: LiveJobDetail): CommandType[] {
  return record.commands.filter((command) => command !== 'RETRY_JOB' || live.state === 'failed')
}

function timeline(live: LiveJobDetail | null, archived: readonly ArchivedJob[]): TimelineEntry[] {
  const entries: TimelineEntry[] = []
  const added = live?.addedAt ?? firstOf(archived.map((row) => row.addedAt))
  if (added !== null) entries.push({ at: added, what: 'added' })
  for (const row of archived) {
    if (row.startedAt !== null) entries.push({ at: row.startedAt, what: `attempt ${row.attempt} started` })
    entries.push({ at: row.finishedAt, what: `attempt ${row.attempt} ${row.state}` })
  }
  if (live) {
    const attempt = (live.attemptsMade ?? 0) + (live.state === 'active' ? 1 : 0)
    const known = new Set(entries.map((entry) => `${entry.at}|${entry.what}`))
    const add = (at: number | null, what: string) => {
      if (at !== null && !known.has(`${at}|${what}`)) entries.push({ at, what })
    }
    if (live.startedAt !== null) add(live.startedAt, `attempt ${Math.max(1, attempt)} started`)
    if (live.finishedAt !== null) add(live.finishedAt, `attempt ${Math.max(1, live.attemptsMade ?? 1)} ${live.state}`)
    if (live.dueAt != null) add(live.dueAt, 'due (delayed until)')
  }
  return entries.sort((a, b) => a.at - b.at)
}

function firstOf(values: readonly (number | null)[]): number | null {
  return values.find((value) => value !== null) ?? null
}

/** JSON text indented for reading; anything else as it came. */
function pretty(text: string | null): string | null {
  if (text === null) return null
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}
