/**
 * Formatting for the queue templates, on top of the shared formatters. Pure, and total: a missing or
 * unusable number reads "–".
 */
import { nodeUrl } from '../http/urls.js'
import { DASH, duration, formatHelpers, num } from '../web/format.js'

const DRIVER_LABELS: Record<string, string> = {
  bullmq: 'BullMQ',
  laravel: 'Laravel',
  'redis-list': 'list',
  'gravito-stream': 'Stream',
  'laravel-horizon': 'Horizon',
  sqs: 'SQS',
  other: 'other',
}

/** The driver badge: `key` is one of the protocol's drivers (safe in a class name), never agent text. */
export function driverBadge(driver: unknown): { key: string; label: string } {
  const key = typeof driver === 'string' && Object.hasOwn(DRIVER_LABELS, driver) ? driver : 'other'
  return { key, label: DRIVER_LABELS[key]! }
}

/** Jobs per second: 12.5 → "12.5/s", 0.004 → "<0.01/s", 0 → "0/s", unknown → "–". */
export function rate(value: unknown): string {
  const n = num(value, { min: 0 })
  if (n === null) return DASH
  if (n === 0) return '0/s'
  if (n < 0.01) return '<0.01/s'
  if (n >= 100) return `${Math.round(n).toLocaleString('en-US')}/s`
  return `${Number(n.toFixed(n >= 10 ? 1 : 2))}/s`
}

/** An age in milliseconds as "3m 12s"; missing reads "–". */
export function age(ms: unknown): string {
  const n = num(ms, { min: 0 })
  return n === null ? DASH : duration(n / 1000)
}

/** The oldest-waiting cell: `waiting 12m 3s` when it wants a look, the plain age otherwise. */
export function waitText(ms: unknown, long: boolean): string {
  const text = age(ms)
  return long && text !== DASH ? `waiting ${text}` : text
}

/** The row's classes for what wants a look (fixed names, safe in a class attribute). */
export function attentionClasses(attention: { longWait: boolean; backlog: boolean } | null | undefined): string {
  if (!attention) return ''
  return [attention.longWait && 'q-long-wait', attention.backlog && 'q-backlog'].filter(Boolean).join(' ')
}

/** A queue state that changes what its counts mean; `key` is fixed text (safe in a class name). */
export interface QueueMarker {
  key: 'paused' | 'rate-limited' | 'waiting-children'
  label: string
  title: string
}

/**
 * The states the plain counts hide: a paused queue (its held jobs are not waiting for a worker),
 * a rate-limited one, and flow parents waiting for their children (in no other count).
 */
export function queueMarkers(record: { isPaused?: boolean; paused?: number; rateLimitedMs?: number; waitingChildren?: number }): QueueMarker[] {
  const markers: QueueMarker[] = []
  if (record.isPaused === true) {
    const held = num(record.paused, { min: 0 }) ?? 0
    markers.push({ key: 'paused', label: held > 0 ? `paused · ${held.toLocaleString('en-US')} held` : 'paused', title: 'the queue is paused: workers pick no job until it is resumed' })
  }
  const limited = num(record.rateLimitedMs, { min: 1 })
  if (limited !== null) markers.push({ key: 'rate-limited', label: `rate-limited · ${age(limited)}`, title: 'the rate limit is reached: workers wait this long before picking jobs again' })
  const children = num(record.waitingChildren, { min: 1 })
  if (children !== null) markers.push({ key: 'waiting-children', label: `${children.toLocaleString('en-US')} waiting for children`, title: 'flow parents that run once their child jobs finish' })
  return markers
}

export const queueViewHelpers = { ...formatHelpers, nodeUrl, driverBadge, rate, age, queueMarkers, waitText, attentionClasses }
