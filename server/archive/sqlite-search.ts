/**
 * One search page over the SQLite archive, newest first, keyset by (finished_at, seq).
 *
 * Three kinds of filter, by what they cost:
 * - Column filters (service, queue, name, state, id, version, since, until) go to the planner,
 *   which reads one of the `(column, finished_at)` indexes in order and stops at the page's limit.
 * - Text (an error phrase, free words) goes to FTS5. Its hits are taken newest first (by seq, the
 *   order rows arrived in) up to `textMatches`; when a text matches more rows than that, the page
 *   says so in `partial`: older matches are left out rather than sorting an unbounded hit list.
 * - Data paths, and text with no word in it, are checked row by row (json `->`, `instr`) on a
 *   window of at most `scanWindow` rows that pass the other filters, read newest first from the
 *   cursor on. When the window runs out before the page fills, the page says so in `partial` and
 *   `next` points past the window, so the following page goes on where this one stopped.
 */
import type { Database, Statement } from 'better-sqlite3'
import type { JobQuery, SearchCursor, SearchPage, JobSummary } from './store.js'
import { ftsExpression, hasWords, jsonPath, MAX_SEARCH_TEXT } from './sqlite-text.js'

export interface SearchBounds {
  /** most FTS hits a text search reads (newest first) */
  textMatches: number
  /** most rows a data path or a substring is checked against per page */
  scanWindow: number
  /** most rows one page returns */
  maxLimit: number
}

export const DEFAULT_SEARCH_BOUNDS: SearchBounds = { textMatches: 5_000, scanWindow: 10_000, maxLimit: 500 }

/** Most values taken from one list (`service:a,b,…`); the rest are ignored and the page says so. */
const MAX_LIST = 100

const SUMMARY_COLUMNS =
  'seq, service, queue, job_id AS jobId, attempt, state, name, driver, added_at AS addedAt, started_at AS startedAt, finished_at AS finishedAt, duration_ms AS durationMs, wait_ms AS waitMs, failed_reason AS failedReason, app_version AS appVersion, node_id AS nodeId'

type Row = JobSummary & { seq: number }

interface Conditions {
  sql: string[]
  params: unknown[]
}

export class SqliteSearch {
  private readonly statements = new Map<string, Statement>()

  constructor(
    private readonly db: Database,
    private readonly bounds: SearchBounds,
  ) {}

  run(query: JobQuery, page: { limit: number; after?: SearchCursor }): SearchPage {
    const limit = Math.max(1, Math.min(this.bounds.maxLimit, Math.floor(page.limit) || 1))
    const notes: string[] = []
    const where: Conditions = { sql: [], params: [] }
    for (const [column, values] of [
      ['service', query.services],
      ['queue', query.queues],
      ['name', query.names],
      ['state', query.states],
      ['job_id', query.ids],
      ['app_version', query.versions],
    ] as const) {
      if (!values || values.length === 0) continue
      if (values.length > MAX_LIST) notes.push(`only the first ${MAX_LIST} values of a ${column} list were searched`)
      const taken = values.slice(0, MAX_LIST)
      where.sql.push(`${column} IN (${taken.map(() => '?').join(', ')})`)
      where.params.push(...taken)
    }
    if (query.since !== undefined && Number.isFinite(query.since)) add(where, 'finished_at >= ?', query.since)
    if (query.until !== undefined && Number.isFinite(query.until)) add(where, 'finished_at < ?', query.until)
    if (page.after) add(where, 'finished_at <= ? AND (finished_at < ? OR seq < ?)', page.after.finishedAt, page.after.finishedAt, page.after.seq)

    const words = (query.words ?? []).filter((word) => word !== '')
    const error = query.error === '' ? undefined : query.error
    const expression = ftsExpression(error, words)
    if (expression !== null) {
      const hits = this.prepare('SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH ? ORDER BY rowid DESC LIMIT ?')
        .pluck()
        .all(expression, this.bounds.textMatches + 1) as number[]
      if (hits.length === 0) return { rows: [], next: null }
      if (hits.length > this.bounds.textMatches) {
        hits.length = this.bounds.textMatches
        notes.push(`the text matched more than ${this.bounds.textMatches} jobs: only the newest ${this.bounds.textMatches} matches were searched`)
      }
      add(where, 'seq IN (SELECT value FROM json_each(?))', JSON.stringify(hits))
    }

    const scanned: Conditions = { sql: [], params: [] }
    if (error !== undefined && !hasWords(error)) add(scanned, '(instr(failed_reason, ?) > 0 OR instr(stack, ?) > 0)', cut(error), cut(error))
    for (const word of words) if (!hasWords(word)) add(scanned, '(instr(name, ?) > 0 OR instr(failed_reason, ?) > 0 OR instr(stack, ?) > 0)', cut(word), cut(word), cut(word))
    for (const { path, value } of query.data ?? []) {
      const jsonPathText = jsonPath(path)
      if (jsonPathText === null) return { rows: [], next: null, ...partial(notes) }
      // `->` gives the value as JSON text: "abc" for a string, 42 for a number, true, null; so the
      // text matches a string equal to it or a scalar written as it. json_valid keeps one bad row
      // from failing the whole search.
      add(scanned, '(CASE WHEN json_valid(data) THEN data -> ? END) IN (?, ?)', jsonPathText, JSON.stringify(value), value)
    }

    let windowEnd: SearchCursor | null = null
    if (scanned.sql.length > 0) {
      // The window ends at the scanWindow-th row (in search order) that passes the cheap filters;
      // it only matters when another such row lies beyond it.
      const [edge, beyond] = this.prepare(`SELECT finished_at AS finishedAt, seq FROM jobs ${clause(where)} ORDER BY finished_at DESC, seq DESC LIMIT 2 OFFSET ?`).all(
        ...where.params,
        this.bounds.scanWindow - 1,
      ) as SearchCursor[]
      if (edge && beyond) {
        windowEnd = edge
        add(where, 'finished_at >= ? AND (finished_at > ? OR seq >= ?)', edge.finishedAt, edge.finishedAt, edge.seq)
      }
      where.sql.push(...scanned.sql)
      where.params.push(...scanned.params)
    }

    const rows = this.prepare(`SELECT ${SUMMARY_COLUMNS} FROM jobs ${clause(where)} ORDER BY finished_at DESC, seq DESC LIMIT ?`).all(...where.params, limit + 1) as Row[]
    if (rows.length > limit) {
      rows.length = limit
      const last = rows[limit - 1]!
      return { rows, next: { finishedAt: last.finishedAt, seq: last.seq }, ...partial(notes) }
    }
    if (windowEnd) {
      notes.push(`looked at ${this.bounds.scanWindow} jobs for data paths or symbols: the next page searches older jobs`)
      return { rows, next: windowEnd, ...partial(notes) }
    }
    return { rows, next: null, ...partial(notes) }
  }

  /** Statements by SQL text: a search has few shapes, and preparing one costs more than running it on a small page. */
  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql)
    if (!statement) {
      if (this.statements.size >= 256) this.statements.clear()
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }
}

function add(conditions: Conditions, sql: string, ...params: unknown[]): void {
  conditions.sql.push(sql)
  conditions.params.push(...params)
}

function clause(conditions: Conditions): string {
  return conditions.sql.length === 0 ? '' : `WHERE ${conditions.sql.join(' AND ')}`
}

function cut(text: string): string {
  return text.slice(0, MAX_SEARCH_TEXT)
}

function partial(notes: string[]): { partial?: string } {
  return notes.length === 0 ? {} : { partial: notes.join('; ') }
}
