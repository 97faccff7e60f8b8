/**
 * A `JobQuery` as one parameterised SELECT. Every value a person typed travels as a parameter
 * (`$n`); the SQL text is assembled only from fixed fragments, so no query field can change it.
 * Words and phrases go through `plainto_tsquery`/`phraseto_tsquery`, which read any text as words
 * and never as tsquery syntax, and `data.<path>:value` becomes a JSON document built with
 * JSON.stringify for `@>`.
 */
import type { JobQuery, SearchCursor } from './store.js'
import { SUMMARY_COLUMNS, TABLE, searchableText } from './postgres-schema.js'
import { text } from './postgres-rows.js'

export const MAX_PAGE = 500
const MAX_TIME = 8.64e15
/** A word with no letter or digit leaves no lexeme; PostgreSQL would match nothing with it. */
const HAS_WORD = /[\p{L}\p{N}]/u
/** A value that reads as a JSON number also matches a number in the data (`data.n:42` finds 42 and "42"). */
const PLAIN_NUMBER = /^-?(0|[1-9]\d{0,29})(\.\d{1,30})?$/

export interface SqlQuery {
  text: string
  values: unknown[]
}

class Parameters {
  readonly values: unknown[] = []

  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

const present = (list: readonly string[] | undefined): list is readonly string[] => Array.isArray(list) && list.length > 0

function timeBound(value: number): number {
  return Math.min(Math.max(Math.ceil(value), 0), MAX_TIME)
}

/** `{"a":{"b":<value>}}` for path [a, b], as text, built without any object (a `__proto__` key stays a key). */
function containing(path: readonly string[], valueJson: string): string {
  return path.reduceRight((inner, key) => `{${JSON.stringify(text(key))}:${inner}}`, valueJson)
}

function dataCandidates(value: string): string[] {
  const candidates = [JSON.stringify(text(value))]
  if (PLAIN_NUMBER.test(value)) candidates.push(value)
  if (value === 'true' || value === 'false' || value === 'null') candidates.push(value)
  return candidates
}

function whereClause(query: JobQuery, params: Parameters): string[] {
  const where: string[] = []
  const anyOf = (column: string, list: readonly string[] | undefined) => {
    if (present(list)) where.push(`${column} = ANY(${params.add(list.map(text))}::text[])`)
  }
  anyOf('service', query.services)
  anyOf('queue', query.queues)
  anyOf('name', query.names)
  anyOf('state', query.states)
  anyOf('job_id', query.ids)
  anyOf('app_version', query.versions)

  if (typeof query.error === 'string' && HAS_WORD.test(query.error)) {
    const phrase = `phraseto_tsquery('simple', ${searchableText(`${params.add(text(query.error))}::text`)})`
    // the GIN index finds candidates over name and error text; ts_filter keeps the error text (weight B)
    where.push(`search @@ ${phrase}`, `ts_filter(search, '{b}') @@ ${phrase}`)
  }
  const words = (query.words ?? []).filter((word) => typeof word === 'string' && HAS_WORD.test(word))
  if (words.length > 0) where.push(`search @@ plainto_tsquery('simple', ${searchableText(`${params.add(text(words.join(' ')))}::text`)})`)

  for (const filter of query.data ?? []) {
    if (!Array.isArray(filter.path) || filter.path.length === 0 || typeof filter.value !== 'string') continue
    const documents = dataCandidates(filter.value).map((candidate) => `data::jsonb @> ${params.add(containing(filter.path, candidate))}::jsonb`)
    where.push(`(${documents.join(' OR ')})`)
  }

  if (typeof query.since === 'number' && !Number.isNaN(query.since)) where.push(`finished_at >= ${params.add(timeBound(query.since))}::bigint`)
  if (typeof query.until === 'number' && !Number.isNaN(query.until)) where.push(`finished_at < ${params.add(timeBound(query.until))}::bigint`)
  return where
}

/** Newest first by (finished_at, seq); one row more than asked says whether a next page exists. */
export function searchQuery(query: JobQuery, page: { limit: number; after?: SearchCursor }): SqlQuery & { limit: number } {
  const params = new Parameters()
  const where = whereClause(query, params)
  if (page.after) {
    where.push(`(finished_at, seq) < (${params.add(timeBound(page.after.finishedAt))}::bigint, ${params.add(Math.max(Math.trunc(page.after.seq) || 0, 0))}::bigint)`)
  }
  const limit = Math.min(Math.max(Math.trunc(page.limit) || 1, 1), MAX_PAGE)
  const sql = `SELECT ${SUMMARY_COLUMNS} FROM ${TABLE}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY finished_at DESC, seq DESC LIMIT ${params.add(limit + 1)}`
  return { text: sql, values: params.values, limit }
}
