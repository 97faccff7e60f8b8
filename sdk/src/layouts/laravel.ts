/**
 * How a Laravel Redis queue is read and counted, for the SDK's probe and the console's discovery
 * alike: `waiting` = LLEN of the list, `delayed` = ZCARD `:delayed`, `active` = ZCARD `:reserved`.
 * The oldest waiting job is the head of the list (Laravel RPUSHes and LPOPs); its age comes from
 * the payload's `pushedAt` (Horizon) or `createdAt` (Laravel 11+), both Unix seconds.
 */
import { keyRead, type Read } from './bullmq.js'
import type { LaravelKeys } from './keys.js'

export interface LaravelReplies {
  waiting: number
  delayed: number
  active: number
  head: string | null
}

export function laravelReads(keys: LaravelKeys): Record<keyof LaravelReplies, Read> {
  return {
    waiting: keyRead(keys.list, 'LLEN'),
    delayed: keyRead(keys.delayed, 'ZCARD'),
    active: keyRead(keys.reserved, 'ZCARD'),
    head: keyRead(keys.list, 'LINDEX', '0'),
  }
}

/** Payloads longer than this are not parsed for their time (a job's data can be megabytes). */
export const LARAVEL_PAYLOAD_PARSE_MAX = 64 * 1024

/** A Laravel job payload: a JSON object naming its `job` or `displayName`; null for anything else. */
export function laravelPayload(raw: string): Record<string, unknown> | null {
  if (raw.length > LARAVEL_PAYLOAD_PARSE_MAX) return null
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const payload = value as Record<string, unknown>
  return typeof payload.job === 'string' || typeof payload.displayName === 'string' ? payload : null
}

/** When the payload was pushed (epoch ms), from `pushedAt` or `createdAt` (Unix seconds). */
export function laravelPushedAt(payload: Record<string, unknown>): number | undefined {
  for (const field of [payload.pushedAt, payload.createdAt]) {
    const seconds = typeof field === 'string' && field.trim() !== '' ? Number(field) : field
    if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) return seconds * 1000
  }
  return undefined
}
