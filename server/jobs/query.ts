/**
 * The search language of `/jobs?q=` and `GET /api/jobs?q=`, parsed into a `JobQuery`
 * (server/archive/store.ts) and rendered back, so a query a person typed and the one a link
 * carries are the same text.
 *
 *   service:billing queue:"send email" state:failed error:"SMTP timeout" data.user.id:42 since:24h invoice
 *
 * Qualifiers are case-insensitive; a value may be quoted (`"…"`, with `\"` and `\\`); a qualifier
 * given twice means "any of"; words without a qualifier must each occur in the name or the error
 * text. A quoted token is always a word, so `"a:b"` searches for the text `a:b`. The text and the
 * number of terms are bounded: a query is parsed per request, before any store is asked.
 */
import { nameSchema } from '@gravito/quasar/protocol'
import type { JobQuery } from '../archive/store.js'
import { LIVE_JOB_STATES } from '../queues/live-jobs.js'
import { parseDuration } from '../duration.js'

export const QUERY_LIMITS = { chars: 1024, terms: 32, value: 256, dataPath: 8 } as const

/** Every state a search may ask for: the live states (completed and failed included) */
export const SEARCH_STATES: readonly string[] = LIVE_JOB_STATES

const LIST_QUALIFIERS = { service: 'services', queue: 'queues', name: 'names', state: 'states', id: 'ids', version: 'versions' } as const
type ListQualifier = keyof typeof LIST_QUALIFIERS
const QUALIFIERS = [...Object.keys(LIST_QUALIFIERS), 'error', 'since', 'until', 'data.<path>'] as const

export type QueryParse = { ok: true; query: JobQuery } | { ok: false; error: string }

interface Token {
  key: string | null
  value: string
}

/** `now` anchors relative times: `since:24h` is 24 hours before it. */
export function parseJobQuery(text: string, now: number): QueryParse {
  if (text.length > QUERY_LIMITS.chars) return fail(`the query is longer than ${QUERY_LIMITS.chars} characters`)
  const tokens = tokenize(text)
  if (!tokens.ok) return tokens
  if (tokens.value.length > QUERY_LIMITS.terms) return fail(`the query has more than ${QUERY_LIMITS.terms} terms`)
  const query: JobQuery = {}
  for (const { key, value } of tokens.value) {
    if (value.length > QUERY_LIMITS.value) return fail(`${key ? `${key}:` : 'a word'} is longer than ${QUERY_LIMITS.value} characters`)
    if (key === null) {
      if (value !== '') (query.words ??= []).push(value)
      continue
    }
    const problem = applyQualifier(query, key, value, now)
    if (problem) return fail(problem)
  }
  return { ok: true, query }
}

function applyQualifier(query: JobQuery, key: string, value: string, now: number): string | null {
  if (key in LIST_QUALIFIERS) {
    const qualifier = key as ListQualifier
    if (value === '') return `${key}: needs a value`
    if (qualifier === 'service' && !nameSchema.safeParse(value).success) return `service:${value} is not a service name (letters, digits, . _ - up to 64)`
    let item = value
    if (qualifier === 'state') {
      item = value.toLowerCase()
      if (!SEARCH_STATES.includes(item)) return `state:${value} is not a state; use one of ${SEARCH_STATES.join(', ')}`
    }
    const list = (query[LIST_QUALIFIERS[qualifier]] ??= [])
    if (!list.includes(item)) list.push(item)
    return null
  }
  if (key === 'error') {
    if (value === '') return 'error: needs a value'
    if (query.error !== undefined) return 'error: may be given once'
    query.error = value
    return null
  }
  if (key === 'since' || key === 'until') {
    if (query[key] !== undefined) return `${key}: may be given once`
    const at = parseTime(value, now)
    if (at === null) return `${key}:${value} is not a time: use an ISO date or time (2026-11-23, 2026-11-23T12:00Z) or a duration ago (30m, 24h, 7d)`
    query[key] = at
    return null
  }
  if (key.startsWith('data.')) {
    const path = key.slice(5).split('.')
    if (path.length > QUERY_LIMITS.dataPath || path.some((part) => part === '')) return `${key}: is not a data path (data.user.id, at most ${QUERY_LIMITS.dataPath} parts)`
    if (value === '') return `${key}: needs a value`
    ;(query.data ??= []).push({ path, value })
    return null
  }
  return `unknown qualifier ${key}: use ${QUALIFIERS.map((name) => `${name}:`).join(', ')}, or quote the word ("${key}:${value}")`
}

const DAY_MS = 86_400_000

/**
 * An ISO date or date-time, or a duration before `now`: `30m`, `24h`, `7d`, `2w`. Days and
 * weeks are read here; shorter units by server/duration.ts.
 */
export function parseTime(text: string, now: number): number | null {
  const days = /^(\d{1,5})(d|w)$/.exec(text)
  if (days) return now - Number(days[1]) * (days[2] === 'w' ? 7 : 1) * DAY_MS
  if (/^\d+(?:\.\d+)?(ms|s|m|h)$/.test(text)) {
    const ms = parseDuration(text, { bareMs: false })
    return ms === null ? null : now - ms
  }
  if (!/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/.test(text)) return null
  // a date or time without a zone is UTC, like every time the console shows
  const iso = /T|\s/.test(text) && !/(Z|[+-]\d{2}:\d{2})$/.test(text) ? `${text.replace(' ', 'T')}Z` : text.replace(' ', 'T')
  const at = Date.parse(iso)
  return Number.isFinite(at) && at >= 0 ? at : null
}

/** Splits on whitespace; `key:value`, `key:"quoted value"`, `word`, `"quoted words"`. */
function tokenize(text: string): { ok: true; value: Token[] } | { ok: false; error: string } {
  const tokens: Token[] = []
  let i = 0
  const quoted = (): string | null => {
    // at an opening quote: read to the closing one, undoing \" and \\
    let out = ''
    for (i++; i < text.length; i++) {
      const char = text[i]!
      if (char === '\\' && i + 1 < text.length) out += text[++i]
      else if (char === '"') {
        i++
        return out
      } else out += char
    }
    return null
  }
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++
      continue
    }
    if (text[i] === '"') {
      const value = quoted()
      if (value === null) return fail('a quote is not closed')
      tokens.push({ key: null, value })
      continue
    }
    const start = i
    while (i < text.length && !/\s/.test(text[i]!) && text[i] !== ':') i++
    const head = text.slice(start, i)
    // `http://…` is a word, not an unknown qualifier
    if (text[i] === ':' && text[i + 1] !== '/' && /^[A-Za-z][\w.-]*$/.test(head)) {
      i++
      // a data path keeps its case: it names keys of the job's own data
      const key = /^data\./i.test(head) ? `data.${head.slice(5)}` : head.toLowerCase()
      if (text[i] === '"') {
        const value = quoted()
        if (value === null) return fail(`the quote after ${head}: is not closed`)
        tokens.push({ key, value })
      } else {
        const valueStart = i
        while (i < text.length && !/\s/.test(text[i]!)) i++
        tokens.push({ key, value: text.slice(valueStart, i) })
      }
      continue
    }
    // a word that holds a ':' without being a qualifier (12:30, a URL) stays a word
    while (i < text.length && !/\s/.test(text[i]!)) i++
    tokens.push({ key: null, value: text.slice(start, i) })
  }
  return { ok: true, value: tokens }
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error }
}

/** The query as text that parses back to it (times as ISO instants). */
export function renderJobQuery(query: JobQuery): string {
  const parts: string[] = []
  for (const [key, field] of Object.entries(LIST_QUALIFIERS) as [ListQualifier, (typeof LIST_QUALIFIERS)[ListQualifier]][]) {
    for (const value of query[field] ?? []) parts.push(`${key}:${quoteValue(value)}`)
  }
  if (query.error !== undefined) parts.push(`error:${quoteValue(query.error)}`)
  for (const { path, value } of query.data ?? []) parts.push(`data.${path.join('.')}:${quoteValue(value)}`)
  if (query.since !== undefined) parts.push(`since:${new Date(query.since).toISOString()}`)
  if (query.until !== undefined) parts.push(`until:${new Date(query.until).toISOString()}`)
  for (const word of query.words ?? []) parts.push(/^[^\s"\\:]+$/.test(word) ? word : quote(word))
  return parts.join(' ')
}

function quoteValue(value: string): string {
  return /^[^\s"\\]+$/.test(value) ? value : quote(value)
}

function quote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}
