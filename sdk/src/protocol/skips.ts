/**
 * What a reader dropped or changed in an agent's document, one entry per smallest unit (a field, a
 * queue entry, a failed job, a stack line). Readers never drop a parent for a child's fault; they
 * say here what they did instead, so the console can show it on the record and log it.
 */
import { cutText } from './text.js'

export interface Skip {
  /** dotted path from the document's root: `cpu.system`, `queues[3].failedJobs[7].failedReason` */
  readonly field: string
  /** plain words: what was wrong and what the reader did about it */
  readonly reason: string
}

/**
 * Most skips a reader keeps per document or record: a hostile document with thousands of bad fields
 * must not cost thousands of log lines or a card the size of a page. The rest are only counted.
 */
export const MAX_SKIPS = 20

/** How much of an agent's value a reason quotes: enough to recognise it, never the whole value. */
const QUOTED_MAX = 40

export interface SkipList {
  add(field: string, reason: string): void
  /** the first MAX_SKIPS skips, in the order they were found */
  readonly list: Skip[]
  /** every skip, kept or only counted */
  readonly total: number
}

export function createSkipList(max = MAX_SKIPS): SkipList {
  const list: Skip[] = []
  let total = 0
  return {
    add(field, reason) {
      total++
      if (list.length < max) list.push({ field, reason })
    },
    list,
    get total() {
      return total
    },
  }
}

/** A short, own-copy quote of an agent's value for a reason (rendered escaped by the console). */
export function quoted(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(cutText(value, QUOTED_MAX, '…'))
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : typeof value
}

/** The JSON type of a value, in words: "a string", "a list", "null". */
export function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  switch (typeof value) {
    case 'string':
      return 'a string'
    case 'number':
      return 'a number'
    case 'boolean':
      return 'a boolean'
    case 'object':
      return 'an object'
    default:
      return typeof value
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
