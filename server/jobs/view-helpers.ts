/** Formatting for the jobs templates, on top of the shared formatters. Pure and total. */
import { jobUrl, queueUrl } from '../http/urls.js'
import { formatHelpers } from '../web/format.js'

const STATE_CLASSES: Record<string, string> = { failed: 'job-state-failed', completed: 'job-state-completed', active: 'job-state-active' }

/** A class for a state badge: one of a fixed set, never the state text itself (agent data). */
export function stateClass(state: unknown): string {
  return typeof state === 'string' && Object.hasOwn(STATE_CLASSES, state) ? STATE_CLASSES[state]! : 'job-state-other'
}

export const jobsViewHelpers = { ...formatHelpers, jobUrl, queueUrl, stateClass }
