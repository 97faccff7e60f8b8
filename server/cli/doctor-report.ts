/**
 * What `zenith doctor` prints: the services and nodes it saw, their queues and slow streams, and
 * every problem with its key and reason; as text for a person or as JSON for a script. Everything
 * shown was written by agents: in text, control and bidirectional characters are printed as
 * escapes so that a key cannot move the cursor, recolour the terminal or reorder a line.
 */
import type { Snapshot } from '../collector/snapshot.js'
import type { QueueRecord } from '../queues/records.js'
import { clockNoteReason } from '../collector/health.js'
import type { Problem, ProblemList } from '../collector/problem-record.js'
import { newestFirst } from '../problems/service.js'

export interface DoctorNode {
  readonly id: string
  /** the heartbeat's own timestamp (the agent's clock) */
  readonly beatAt: number
  readonly language?: string
  readonly appVersion?: string
  readonly clockNote?: string
}

export interface DoctorQueue {
  readonly service: string
  readonly name: string
  readonly driver: string
  readonly source: string
  readonly waiting: number | null
  readonly active: number | null
  readonly delayed: number | null
  readonly failed: number | null
  readonly nodeId?: string
  /** the commands the console would offer; empty: read-only */
  readonly commands: readonly string[]
  /** why no commands are offered, in plain words */
  readonly readOnlyReason?: string
  readonly error?: string
}

export interface DoctorReport {
  readonly redis: string
  readonly reachable: boolean
  readonly checkedAt: number | null
  /** keys in the Redis, and whether the pass walked all of them (see doctor-pass.ts) */
  readonly keys: { readonly count: number; readonly walked: boolean } | null
  readonly services: readonly { readonly name: string; readonly nodes: readonly DoctorNode[] }[]
  readonly queues: readonly DoctorQueue[]
  readonly slowStreams: readonly { readonly service: string; readonly entries: number }[]
  /** collector parts that failed their read: the console could not check this part at all */
  readonly failedParts: readonly { readonly part: string; readonly reason: string }[]
  /** newest first */
  readonly problems: readonly Problem[]
  readonly notKept: ProblemList['notKept']
  readonly clean: boolean
}

export function unreachableReport(redis: string): DoctorReport {
  return { redis, reachable: false, checkedAt: null, keys: null, services: [], queues: [], slowStreams: [], failedParts: [], problems: [], notKept: { count: 0, more: false }, clean: false }
}

export interface DoctorInput {
  readonly snapshot: Snapshot
  readonly problems: ProblemList
  readonly checkedAt: number
  readonly keyCount: number
  /** the key count the pass's ticks can walk */
  readonly walkable: number
}

export function buildDoctorReport(redis: string, input: DoctorInput): DoctorReport {
  const { snapshot, problems: list, checkedAt } = input
  const services = new Map<string, DoctorNode[]>()
  for (const node of snapshot.nodes) {
    if (!node.keyPresent) continue
    const nodes = services.get(node.service) ?? []
    const beat = node.heartbeat
    nodes.push({
      id: node.nodeId,
      beatAt: node.lastSeenAt,
      ...(typeof beat.language === 'string' ? { language: beat.language } : {}),
      ...(typeof beat.appVersion === 'string' ? { appVersion: beat.appVersion } : {}),
      ...(node.clockNote ? { clockNote: clockNoteReason(node.clockNote) } : {}),
    })
    services.set(node.service, nodes)
  }
  const slow = new Map<string, number>()
  for (const entry of snapshot.slow?.entries ?? []) slow.set(entry.service, (slow.get(entry.service) ?? 0) + 1)
  const failedParts = Object.entries(snapshot.parts)
    .filter(([, status]) => !status.ok)
    .map(([part, status]) => ({ part, reason: status.reason ?? 'failed' }))
  const problems = newestFirst(list)
  return {
    redis,
    reachable: true,
    checkedAt,
    keys: { count: input.keyCount, walked: input.keyCount <= input.walkable },
    services: [...services].map(([name, nodes]) => ({ name, nodes })),
    queues: (snapshot.queues?.items ?? []).map(toDoctorQueue),
    slowStreams: [...slow].map(([service, entries]) => ({ service, entries })).sort((a, b) => (a.service < b.service ? -1 : 1)),
    failedParts,
    problems,
    notKept: list.notKept,
    clean: problems.length === 0 && list.notKept.count === 0 && !list.notKept.more && failedParts.length === 0,
  }
}

function toDoctorQueue(queue: QueueRecord): DoctorQueue {
  return {
    service: queue.service,
    name: queue.name,
    driver: queue.driver,
    source: queue.source,
    waiting: queue.waiting,
    active: queue.active,
    delayed: queue.delayed,
    failed: queue.failed,
    ...(queue.nodeId === undefined ? {} : { nodeId: queue.nodeId }),
    commands: [...queue.commands],
    ...(queue.readOnlyReason === undefined ? {} : { readOnlyReason: queue.readOnlyReason }),
    ...(queue.error === undefined ? {} : { error: queue.error }),
  }
}

/** C0, DEL, C1, line and paragraph separators, bidi embeddings, overrides and isolates */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function ago(ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (Math.abs(seconds) < 120) return `${seconds} s`
  if (Math.abs(seconds) < 7200) return `${Math.round(seconds / 60)} min`
  return `${Math.round(seconds / 3600)} h`
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
const countText = (value: number | null) => (value === null ? '?' : String(value))

export function formatDoctorText(report: DoctorReport): string {
  const s = terminalSafe
  if (!report.reachable) return `zenith doctor: Redis at ${s(report.redis)} did not answer.\n`
  const now = report.checkedAt ?? 0
  const lines: string[] = [`zenith doctor: ${s(report.redis)}, ${plural(report.keys?.count ?? 0, 'key')}`, '']
  if (report.keys && !report.keys.walked) lines.push('Only part of the keyspace was walked: agents found by SCAN alone may be missing below.', '')
  const nodeCount = report.services.reduce((sum, service) => sum + service.nodes.length, 0)
  lines.push(`Services and nodes: ${plural(report.services.length, 'service')}, ${plural(nodeCount, 'node')}`)
  if (report.services.length === 0) lines.push('  (no node beats here)')
  for (const service of report.services) {
    lines.push(`  ${s(service.name)}`)
    for (const node of service.nodes) {
      const detail = [node.language, node.appVersion && `version ${node.appVersion}`, `beat ${ago(now - node.beatAt)} ago by its own clock`].filter(Boolean).join(', ')
      lines.push(`    ${s(node.id)}  ${s(detail)}${node.clockNote ? `  [${s(node.clockNote)}]` : ''}`)
    }
  }
  lines.push('', `Queues: ${report.queues.length}`)
  for (const queue of report.queues) {
    const counts = `waiting ${countText(queue.waiting)}, active ${countText(queue.active)}, delayed ${countText(queue.delayed)}, failed ${countText(queue.failed)}`
    const commands = queue.commands.length > 0 ? `commands ${queue.commands.join(', ')} via node ${queue.nodeId ?? '?'}` : `read-only (${queue.readOnlyReason ?? 'no commands declared'})`
    lines.push(`  ${s(queue.service)} / ${s(queue.name)}  ${s(queue.driver)}, ${queue.source}, ${queue.error ? `error: ${s(queue.error)}` : counts}; ${s(commands)}`)
  }
  lines.push('', `Slow streams: ${report.slowStreams.length}`)
  for (const stream of report.slowStreams) lines.push(`  ${s(stream.service)}  ${plural(stream.entries, 'entry', 'entries')} read`)
  for (const part of report.failedParts) lines.push('', `Could not read ${part.part}: ${s(part.reason)}`)

  lines.push('', `Problems: ${report.problems.length}`)
  for (const problem of report.problems) {
    lines.push(`  ${s(problem.key)}`, `    ${s(problem.reason)}${problem.count > 1 ? ` (${problem.count} times)` : ''}`)
  }
  if (report.notKept.count > 0 || report.notKept.more) lines.push(`  … and ${report.notKept.more ? 'more than ' : ''}${report.notKept.count} more not listed`)
  lines.push('', report.clean ? 'Clean: the console read every key without skipping anything.' : `Found problems: fix the keys above and run zenith doctor again.`)
  return `${lines.join('\n')}\n`
}

export function formatDoctorJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}
