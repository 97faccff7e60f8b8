/**
 * Shapes at the alerts' boundaries: the rules file (written by an operator), what the console itself
 * stores in Redis (read back like any other Redis value), and the pages' query strings.
 */
import { z } from 'zod'
import { nameSchema, queueNameSchema } from '@gravito/quasar/protocol'
import { channelUrlProblem } from './channels/url.js'
import { parseDuration } from '../duration.js'
import { DURATION_METRICS, METRICS, PERCENT_METRICS, QUEUE_METRICS } from './metrics.js'

// ---- rules file -------------------------------------------------------------------------------

/** The longest duration a rule may use; anything longer is almost surely a typo. */
const MAX_DURATION_MS = 7 * 24 * 3_600_000

// a number is milliseconds; a string needs its unit (only `0` reads naturally without one)
const durationSchema = z.union([z.string().max(32), z.number()]).transform((input, ctx) => {
  const ms = typeof input === 'number' ? (Number.isInteger(input) && input >= 0 ? input : null) : parseDuration(input, { bareMs: false })
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${input}" is not a duration (use 500ms, 3s, 2m or 1h)` })
    return z.NEVER
  }
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: 'must be at most 7 days' })
    return z.NEVER
  }
  return ms
})

const channelSchema = z.strictObject({
  name: nameSchema,
  type: z.enum(['slack', 'webhook']),
  url: z
    .string()
    .max(2048)
    .superRefine((url, ctx) => {
      const problem = channelUrlProblem(url)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    }),
})

/**
 * A threshold: a number, or for a duration metric (queue_wait) a duration (`5m`; a number is then
 * milliseconds). Strings are turned into milliseconds once the whole rule is known.
 */
const thresholdSchema = z.union([z.number().finite(), z.string().max(32)])

const ruleSchema = z
  .strictObject({
    name: nameSchema,
    metric: z.enum(METRICS),
    above: thresholdSchema.optional(),
    below: thresholdSchema.optional(),
    /** how long the condition must hold before the alert fires */
    for: durationSchema.optional(),
    /** no repeat message for the same rule and target within this time */
    cooldown: durationSchema.optional(),
    /** the value the metric must pass back over to resolve (hysteresis) */
    clear: thresholdSchema.optional(),
    /** queue_failed only: the window over which the failed count's rise is measured */
    window: durationSchema.optional(),
    service: nameSchema.optional(),
    queue: queueNameSchema.optional(),
    channels: z.array(nameSchema).max(20).default([]),
  })
  .transform((input, ctx) => {
    // durations become milliseconds first, so every check below compares numbers
    const { above, below, clear, ...rest } = input
    const rule: typeof rest & { above?: number; below?: number; clear?: number } = rest
    let bad = false
    for (const [field, value] of [
      ['above', above],
      ['below', below],
      ['clear', clear],
    ] as const) {
      if (value === undefined) continue
      const ms = thresholdMs(input.metric, field, value, ctx)
      if (ms === null) bad = true
      else rule[field] = ms
    }
    return bad ? z.NEVER : rule
  })
  .superRefine((rule, ctx) => {
    const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message })
    const hasAbove = rule.above !== undefined
    const hasBelow = rule.below !== undefined
    if (rule.metric === 'node_lost') {
      for (const field of ['above', 'below', 'clear'] as const) {
        if (rule[field] !== undefined) problem(field, 'node_lost takes no threshold: it fires when a node is dead')
      }
    } else if (hasAbove === hasBelow) {
      problem(hasAbove ? 'below' : 'above', 'give exactly one of above or below')
    }
    const threshold = rule.above ?? rule.below
    if (threshold !== undefined && PERCENT_METRICS.has(rule.metric) && (threshold < 0 || threshold > 100)) {
      problem(hasAbove ? 'above' : 'below', `${rule.metric} is a percentage: use a value from 0 to 100`)
    }
    if (threshold !== undefined && !PERCENT_METRICS.has(rule.metric) && threshold < 0) {
      problem(hasAbove ? 'above' : 'below', `${rule.metric} is a ${DURATION_METRICS.has(rule.metric) ? 'duration' : 'count'}: use a value of 0 or more`)
    }
    if (rule.metric === 'queue_failed' && hasBelow) problem('below', 'queue_failed measures a rise: use above')
    if (rule.clear !== undefined && rule.above !== undefined && rule.clear > rule.above) {
      problem('clear', `must be at or below the trigger (${rule.above}) for an above rule`)
    }
    if (rule.clear !== undefined && rule.below !== undefined && rule.clear < rule.below) {
      problem('clear', `must be at or above the trigger (${rule.below}) for a below rule`)
    }
    if (rule.queue !== undefined && !QUEUE_METRICS.has(rule.metric)) problem('queue', 'only queue metrics take a queue filter')
    if (rule.window !== undefined && rule.metric !== 'queue_failed') problem('window', 'only queue_failed takes a window')
    if (rule.window === 0) problem('window', 'must be longer than 0')
    if (rule.cooldown !== undefined && rule.cooldown < 1_000) problem('cooldown', 'must be at least 1s')
  })

function thresholdMs(metric: (typeof METRICS)[number], field: 'above' | 'below' | 'clear', value: number | string, ctx: z.RefinementCtx): number | null {
  if (typeof value !== 'string') return value
  if (!DURATION_METRICS.has(metric)) {
    ctx.addIssue({ code: 'custom', path: [field], message: `${metric} takes a number` })
    return null
  }
  const ms = parseDuration(value, { bareMs: false })
  if (ms === null) ctx.addIssue({ code: 'custom', path: [field], message: `"${value}" is not a duration (use 30s, 5m or 1h)` })
  return ms
}

export const rulesFileSchema = z
  .strictObject({
    channels: z.array(channelSchema).max(50).default([]),
    /** absent: the default rules, sent to every channel of the file */
    rules: z.array(ruleSchema).max(500).optional(),
  })
  .superRefine((file, ctx) => {
    const channelNames = new Set<string>()
    file.channels.forEach((channel, i) => {
      if (channelNames.has(channel.name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `"${channel.name}" is used twice` })
      channelNames.add(channel.name)
    })
    const ruleNames = new Set<string>()
    file.rules?.forEach((rule, i) => {
      if (ruleNames.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `"${rule.name}" is used twice` })
      ruleNames.add(rule.name)
      rule.channels.forEach((name, j) => {
        if (!channelNames.has(name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'channels', j], message: `no channel named "${name}"` })
      })
    })
  })
export type RuleInput = z.output<typeof ruleSchema>
export type ChannelConfig = z.output<typeof channelSchema>

// ---- what the console stores in Redis ---------------------------------------------------------

const target = {
  rule: nameSchema,
  metric: z.enum(METRICS),
  target: z.string().max(400),
  service: nameSchema,
  nodeId: nameSchema.optional(),
  queue: queueNameSchema.optional(),
}

/** One open alert episode, stored in the firing hash. */
export const firingRecordSchema = z.object({
  ...target,
  op: z.enum(['above', 'below']),
  value: z.number().finite(),
  threshold: z.number().finite(),
  firedAt: z.number().finite(),
  channels: z.array(nameSchema).max(20),
})

export const EVENT_KINDS = ['firing', 'reminder', 'resolved', 'gone'] as const

/**
 * `message` says what happened to the notification: queued for the channels, suppressed by the
 * cool-down, or none (no channels, or nothing to resolve because no firing message went out).
 */
export const historyEventSchema = z.object({
  ...target,
  kind: z.enum(EVENT_KINDS),
  op: z.enum(['above', 'below']),
  value: z.number().finite(),
  threshold: z.number().finite(),
  at: z.number().finite(),
  firedAt: z.number().finite(),
  message: z.enum(['queued', 'cooldown', 'none']),
  channels: z.array(nameSchema).max(20),
})

/** Events the console keeps in memory and shows; older ones are pruned from its history. */
export const HISTORY_EVENTS = 500

/**
 * A message's outcome on one channel. A grouped message announced many events: `eventId` is the
 * group's first, `moreEventIds` the newest others, as many as the history can show.
 */
export const deliveryRecordSchema = z.object({
  eventId: z.string().max(64),
  moreEventIds: z.array(z.string().max(64)).max(HISTORY_EVENTS).optional(),
  channel: nameSchema,
  ok: z.boolean(),
  attempts: z.number().int().nonnegative(),
  error: z.string().max(300).optional(),
  at: z.number().finite(),
})

export type FiringRecord = z.infer<typeof firingRecordSchema>
export type HistoryEvent = z.infer<typeof historyEventSchema>
export type DeliveryRecord = z.infer<typeof deliveryRecordSchema>

// ---- pages -------------------------------------------------------------------------------------

/** `?service=` filter; the "all services" option submits an empty value. */
export const alertsQuerySchema = z.object({
  service: z.preprocess((value) => (value === '' ? undefined : value), nameSchema.optional()),
})
