/**
 * Formatting for the queue templates, on top of the pulse helpers. Pure, and total: a missing or
 * unusable number reads "–".
 */
import { DASH, duration, num, viewHelpers } from '../nodes/view-helpers.js'

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

export const queueViewHelpers = { ...viewHelpers, driverBadge, rate, age }

export type QueueViewHelpers = typeof queueViewHelpers
