/**
 * One search page over the PostgreSQL archive, newest first, keyset by (finished_at, seq).
 *
 * Every value a person typed travels as a parameter (`$n`); the SQL text is assembled only from
 * fixed fragments, so no query field can change it. Words and phrases go through
 * `phraseto_tsquery`, which reads any text as words and never as tsquery syntax, and
 * `data.<path>:value` becomes a JSON document built with JSON.stringify for `@>`.
 *
 * What each filter costs:
 * - Columns (service, queue, name, state, id, version, since, until): B-tree indexes.
 * - Text with words (an error phrase, free words): the GIN index over the tsvector finds
 *   candidates; `ts_filter` then keeps a phrase inside one column (name, reason or stack), as
 *   SQLite's FTS5 phrases do.
 * - Data paths: the GIN index over `data::jsonb`, by containment of each scalar form of the value.
 * - Text with no letter or digit (`"`, `%`, two spaces) has no words: it is matched as a substring
 *   with `strpos`, on a window of at most `scanWindow` rows that pass the other filters. When the
 *   window runs out before the page fills, the page says so in `partial` and `next` points past
 *   the window, so the following page goes on where this one stopped.
 */
import type pg from 'pg'
import type { JobQuery, SearchCursor, SearchPage } from './store.js'
import { SUMMARY_COLUMNS, TABLE, searchableText } from './postgres-schema.js'
import { text, toSummary } from './postgres-rows.js'

export interface SearchBounds {
  /** most rows a substring is checked against per page */
  scanWindow: number
  /** most rows one page returns */
  maxLimit: number
}

export const DEFAULT_SEARCH_BOUNDS: SearchBounds = { scanWindow: 20_000, maxLimit: 500 }

/** Most values taken from one list (`service:a,b,…`); the rest are ignored and the page says so. */
const MAX_LIST = 100
/** Longest text taken from one searched word or phrase; more cannot be a real word. */
const MAX_SEARCH_TEXT = 512
const MAX_TIME = 8.64e15
const HAS_WORD = /[\p{L}\p{N}]/u
/** A value written as JavaScript writes a number also matches that number in the data (`data.n:42` finds 42 and "42"). */
const isCanonicalNumber = (value: string): boolean => /^-?\d/.test(value) && value.length <= 40 && String(Number(value)) === value

type Queryable = Pick<pg.Pool, 'query'>

class Conditions {
  readonly sql: string[] = []
  readonly values: unknown[] = []

  param(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }

  where(): string {
    return this.sql.length === 0 ? '' : ` WHERE ${this.sql.join(' AND ')}`
  }
}

function timeBound(value: number): number {
  return Math.min(Math.max(Math.ceil(value), 0), MAX_TIME)
}

/** `{"a":{"b":<value>}}` for path [a, b], as text, built without any object (a `__proto__` key stays a key). */
function containing(path: readonly string[], valueJson: string): string {
  return path.reduceRight((inner, key) => `{${JSON.stringify(key)}:${inner}}`, valueJson)
}

/** A phrase of words inside one of `weights`' columns (A name, B failed reason, C stack). */
function phraseIn(where: Conditions, phrase: string, weights: readonly ('a' | 'b' | 'c')[]): void {
  const query = `phraseto_tsquery('simple', ${searchableText(`${where.param(phrase)}::text`)})`
  where.sql.push(`search @@ ${query}`, `(${weights.map((weight) => `ts_filter(search, '{${weight}}') @@ ${query}`).join(' OR ')})`)
}

interface Substring {
  needle: string
  columns: readonly string[]
}

function substringIn(where: Conditions, { needle, columns }: Substring): void {
  // PostgreSQL text holds no NUL, so text with one is in no row
  if (needle.includes('\0')) {
    where.sql.push('false')
    return
  }
  const param = where.param(needle)
  where.sql.push(`(${columns.map((column) => `strpos(${column}, ${param}::text) > 0`).join(' OR ')})`)
}

export async function searchArchive(db: Queryable, query: JobQuery, page: { limit: number; after?: SearchCursor }, bounds: SearchBounds = DEFAULT_SEARCH_BOUNDS): Promise<SearchPage> {
  const limit = Math.max(1, Math.min(bounds.maxLimit, Math.trunc(page.limit) || 1))
  const notes: string[] = []
  const where = new Conditions()
  const values = where.values
  for (const [column, list] of [
    ['service', query.services],
    ['queue', query.queues],
    ['name', query.names],
    ['state', query.states],
    ['job_id', query.ids],
    ['app_version', query.versions],
  ] as const) {
    if (!Array.isArray(list) || list.length === 0) continue
    if (list.length > MAX_LIST) notes.push(`only the first ${MAX_LIST} values of a ${column} list were searched`)
    where.sql.push(`${column} = ANY(${where.param(list.slice(0, MAX_LIST).map((value) => text(String(value))))}::text[])`)
  }
  if (typeof query.since === 'number' && !Number.isNaN(query.since)) where.sql.push(`finished_at >= ${where.param(timeBound(query.since))}::bigint`)
  if (typeof query.until === 'number' && !Number.isNaN(query.until)) where.sql.push(`finished_at < ${where.param(timeBound(query.until))}::bigint`)
  if (page.after) {
    where.sql.push(`(finished_at, seq) < (${where.param(timeBound(page.after.finishedAt))}::bigint, ${where.param(Math.max(Math.trunc(page.after.seq) || 0, 0))}::bigint)`)
  }

  // checked row by row, inside the window fixed below
  const scanned: Substring[] = []
  const error = typeof query.error === 'string' ? query.error.slice(0, MAX_SEARCH_TEXT) : ''
  if (HAS_WORD.test(error)) phraseIn(where, text(error), ['b', 'c'])
  else if (error !== '') scanned.push({ needle: error, columns: ['failed_reason', 'stack'] })
  for (const raw of query.words ?? []) {
    const word = typeof raw === 'string' ? raw.slice(0, MAX_SEARCH_TEXT) : ''
    if (HAS_WORD.test(word)) phraseIn(where, text(word), ['a', 'b', 'c'])
    else if (word !== '') scanned.push({ needle: word, columns: ['name', 'failed_reason', 'stack'] })
  }
  for (const { path, value } of query.data ?? []) {
    if (!Array.isArray(path) || path.length === 0 || path.length > 16 || typeof value !== 'string' || path.some((key) => typeof key !== 'string' || key.includes('\0'))) {
      where.sql.push('false')
      continue
    }
    const forms = [JSON.stringify(text(value))]
    if (isCanonicalNumber(value) || value === 'true' || value === 'false') forms.push(value)
    where.sql.push(`(${forms.map((form) => `data::jsonb @> ${where.param(containing(path, form))}::jsonb`).join(' OR ')})`)
  }

  let windowEnd: SearchCursor | null = null
  if (scanned.length > 0) {
    // The window ends at the scanWindow-th row (in search order) that passes the indexed filters;
    // it only matters when another such row lies beyond it.
    const edges = await db.query(`SELECT finished_at, seq FROM ${TABLE}${where.where()} ORDER BY finished_at DESC, seq DESC LIMIT 2 OFFSET $${values.length + 1}`, [...values, bounds.scanWindow - 1])
    if (edges.rows.length === 2) {
      const edge = edges.rows[0] as { finished_at: string; seq: string }
      windowEnd = { finishedAt: Number(edge.finished_at), seq: Number(edge.seq) }
      where.sql.push(`(finished_at, seq) >= (${where.param(windowEnd.finishedAt)}::bigint, ${where.param(windowEnd.seq)}::bigint)`)
    }
    for (const substring of scanned) substringIn(where, substring)
  }

  const sql = `SELECT ${SUMMARY_COLUMNS} FROM ${TABLE}${where.where()} ORDER BY finished_at DESC, seq DESC LIMIT ${where.param(limit + 1)}`
  const result = await db.query(sql, values)
  const rows = result.rows.slice(0, limit).map(toSummary)
  const last = rows.at(-1)
  const partial = () => (notes.length === 0 ? {} : { partial: notes.join('; ') })
  if (result.rows.length > limit && last) return { rows, next: { finishedAt: last.finishedAt, seq: last.seq }, ...partial() }
  if (windowEnd) {
    notes.push(`looked at ${bounds.scanWindow} jobs for text without words: the next page searches older jobs`)
    return { rows, next: windowEnd, ...partial() }
  }
  return { rows, next: null, ...partial() }
}
