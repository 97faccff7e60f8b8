/**
 * Alert rules: the defaults, and loading a rules file (JSON or YAML). A bad file throws an Error
 * whose message is one line naming the file, the field and the problem, so the start can stop
 * with it.
 *
 * Semantics every rule shares:
 * - `above X` fires while value > X; `below X` fires while value < X.
 * - The condition must hold on every evaluation for the whole `for` duration (default 0: at once).
 * - Hysteresis: a firing alert resolves only once the value passes `clear`. Default `clear`: 5 % of
 *   the metric's scale back from the trigger. For percentages (cpu, memory, disk) the scale is 100,
 *   so `above 90` clears below 85 and `below 10` clears above 15; for counts (queue_backlog,
 *   queue_failed, queue_wait) the scale is the threshold itself, so `above 1000` clears below 950.
 * - `cooldown` (default 30m): after a firing message, no other firing message for the same rule and
 *   target until it ends; a still-firing alert is repeated once per cool-down.
 * - node_lost takes no threshold: it fires once the console has read no new beat for 30 s.
 * - queue_wait is the age of a queue's oldest waiting (or paused) job in ms, as its reader measured
 *   it; its thresholds take durations (`above: 5m`). A queue with no waiting job waits 0; one
 *   whose oldest job's age is unknown gives no reading (see metrics.ts).
 * - queue_failed fires when the failed count rose by more than `above` within `window`
 *   (default 5m). Drops (jobs retried or removed, counter reset) count as no rise, and rises after
 *   a drop still count.
 *
 * A file (YAML; JSON has the same shape). Without `rules`, the defaults go to every channel:
 *
 *   channels:
 *     - { name: ops, type: slack, url: "https://hooks.slack.com/services/…" }
 *   rules:
 *     - { name: cpu-high, metric: cpu, above: 90, for: 2m, channels: [ops] }
 *     - { name: emails-backlog, metric: queue_backlog, above: 500, for: 5m, queue: emails, channels: [ops] }
 */
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
import { PERCENT_METRICS, type MetricName } from './metrics.js'
import { rulesFileSchema, type ChannelConfig, type RuleInput } from './schemas.js'

export type { ChannelConfig } from './schemas.js'

export interface AlertRule {
  readonly name: string
  readonly metric: MetricName
  readonly op: 'above' | 'below'
  readonly threshold: number
  readonly clear: number
  readonly forMs: number
  readonly cooldownMs: number
  /** queue_failed only: how far back the rise is measured */
  readonly windowMs: number
  readonly service?: string
  readonly queue?: string
  readonly channels: readonly string[]
}

export interface AlertRules {
  readonly rules: readonly AlertRule[]
  readonly channels: readonly ChannelConfig[]
  /** the file the rules came from, or null for the defaults */
  readonly file: string | null
}

export const DEFAULT_COOLDOWN_MS = 30 * 60_000
export const DEFAULT_FAILED_WINDOW_MS = 5 * 60_000
/** Largest rules file read; a real one is a few kilobytes. */
const MAX_FILE_BYTES = 1024 * 1024

/**
 * The defaults when no file is given. Disk waits 1 minute: a disk fills slowly, so the minute
 * costs nothing and skips a large temporary file written and removed at once. A lost node fires at
 * once: being lost already means 30 s without a new beat, by the console's clock. A job waiting
 * over 5 minutes, for a minute, means the workers are not keeping up (Horizon's LongWaitDetected
 * has a lower default, for queues whose jobs are expected within a minute: a rule can say so).
 */
export const DEFAULT_RULES: readonly RuleInput[] = [
  { name: 'cpu-high', metric: 'cpu', above: 90, for: 2 * 60_000, channels: [] },
  { name: 'memory-high', metric: 'memory', above: 90, for: 5 * 60_000, channels: [] },
  { name: 'disk-low', metric: 'disk', below: 10, for: 60_000, channels: [] },
  { name: 'node-lost', metric: 'node_lost', for: 0, channels: [] },
  { name: 'queue-backlog', metric: 'queue_backlog', above: 1000, for: 5 * 60_000, channels: [] },
  { name: 'failed-spike', metric: 'queue_failed', above: 10, window: DEFAULT_FAILED_WINDOW_MS, for: 0, channels: [] },
  { name: 'queue-wait', metric: 'queue_wait', above: 5 * 60_000, for: 60_000, channels: [] },
]

/** The default rules, with no channel: they show in the console only. */
export function defaultAlertRules(): AlertRules {
  return { rules: DEFAULT_RULES.map(toRule), channels: [], file: null }
}

export async function loadAlertRules(path: string): Promise<AlertRules> {
  let text: string
  try {
    const buffer = await readFile(path)
    if (buffer.byteLength > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`)
    text = buffer.toString('utf8')
  } catch (error) {
    throw new Error(`cannot read alerts file ${path}: ${firstLine(error)}`, { cause: error })
  }
  return parseAlertRules(text, path)
}

/** Parses a rules file's text; `.json` files as JSON, anything else as YAML. */
export function parseAlertRules(text: string, path: string): AlertRules {
  let input: unknown
  try {
    input = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text)
  } catch (error) {
    throw new Error(`alerts file ${path} is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${firstLine(error)}`, { cause: error })
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new Error(`alerts file ${path}: must be an object with channels and rules`)
  }
  const parsed = rulesFileSchema.safeParse(input)
  if (!parsed.success) throw new Error(`alerts file ${path}: ${describeIssue(parsed.error, input)}`)
  const file = parsed.data
  const everyChannel = file.channels.map((channel) => channel.name)
  const rules = file.rules ?? DEFAULT_RULES.map((rule) => ({ ...rule, channels: everyChannel }))
  return { rules: rules.map(toRule), channels: file.channels, file: path }
}

function toRule(input: RuleInput): AlertRule {
  const op = input.below !== undefined ? 'below' : 'above'
  // node_lost is the 0/1 value "the node is dead": fires at 1, clears at 0
  const threshold = input.metric === 'node_lost' ? 0.5 : (input.above ?? input.below ?? 0)
  return {
    name: input.name,
    metric: input.metric,
    op,
    threshold,
    clear: input.clear ?? defaultClear(input.metric, op, threshold),
    forMs: input.for ?? 0,
    cooldownMs: input.cooldown ?? DEFAULT_COOLDOWN_MS,
    windowMs: input.window ?? DEFAULT_FAILED_WINDOW_MS,
    ...(input.service !== undefined && { service: input.service }),
    ...(input.queue !== undefined && { queue: input.queue }),
    channels: input.channels,
  }
}

export function defaultClear(metric: MetricName, op: 'above' | 'below', threshold: number): number {
  if (metric === 'node_lost') return threshold
  const gap = PERCENT_METRICS.has(metric) ? 5 : Math.abs(threshold) * 0.05
  const clear = op === 'above' ? threshold - gap : threshold + gap
  return PERCENT_METRICS.has(metric) ? Math.min(100, Math.max(0, clear)) : Math.max(0, clear)
}

/** `rules[2] (cpu-high).above: must be …`: the path, with the rule's name when it has one. */
function describeIssue(error: z.ZodError, input: object): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid'
  let where = ''
  let node: unknown = input
  for (const part of issue.path) {
    where += typeof part === 'number' ? `[${part}]` : `${where ? '.' : ''}${String(part)}`
    node = typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[part] : undefined
    const name = typeof node === 'object' && node !== null ? (node as Record<string, unknown>).name : undefined
    if (typeof part === 'number' && typeof name === 'string' && name.length <= 64) where += ` (${name})`
  }
  return `${where || 'top level'}: ${issue.message}`
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0]?.trim() ?? message
}
