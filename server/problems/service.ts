/**
 * View models of what the console skipped in the last hour, from the bad-data log's problem
 * record: one list newest first, or grouped by key (keys ordered by their latest problem). Pure
 * functions of the record's list; the caller says what time it is.
 */
import type { NotKept, Problem, ProblemList, ProblemRecord } from '../collector/problem-record.js'
import type { ProblemsQuery } from './schemas.js'

export interface ProblemGroup {
  readonly key: string
  /** newest first */
  readonly problems: readonly Problem[]
  readonly reports: number
  readonly lastSeenAt: number
}

export interface ProblemsView {
  readonly now: number
  readonly redisUp: boolean
  readonly sort: ProblemsQuery['sort']
  readonly windowMs: number
  readonly maxEntries: number
  /** newest first */
  readonly problems: readonly Problem[]
  /** only for `sort: 'key'` */
  readonly groups: readonly ProblemGroup[]
  readonly keys: number
  readonly notKept: NotKept
}

export function newestFirst(list: ProblemList): Problem[] {
  // the record lists least recently seen first; ties keep that order reversed, which is still by recency
  return [...list.problems].reverse()
}

export function groupByKey(problems: readonly Problem[]): ProblemGroup[] {
  const byKey = new Map<string, Problem[]>()
  for (const problem of problems) {
    const group = byKey.get(problem.key)
    if (group) group.push(problem)
    else byKey.set(problem.key, [problem])
  }
  // `problems` is newest first, so each group is too, and groups come in order of their newest problem
  return [...byKey].map(([key, list]) => ({ key, problems: list, reports: list.reduce((sum, problem) => sum + problem.count, 0), lastSeenAt: list[0]!.lastSeenAt }))
}

export function buildProblemsView(record: ProblemRecord, now: number, redisUp: boolean, query: ProblemsQuery): ProblemsView {
  const list = record.list(now)
  const problems = newestFirst(list)
  return {
    now,
    redisUp,
    sort: query.sort,
    windowMs: record.windowMs,
    maxEntries: record.maxEntries,
    problems,
    groups: query.sort === 'key' ? groupByKey(problems) : [],
    keys: new Set(problems.map((problem) => problem.key)).size,
    notKept: list.notKept,
  }
}

/** `GET /api/problems`: the same list, flat (newest first) or grouped. */
export function toProblemsApi(view: ProblemsView) {
  return {
    generatedAt: view.now,
    windowMs: view.windowMs,
    maxEntries: view.maxEntries,
    notKept: view.notKept,
    ...(view.sort === 'key' ? { groups: view.groups } : { problems: view.problems }),
  }
}
