/**
 * Label values for /metrics come from agents (service and queue names), so they are bounded twice:
 * in length, and in how many distinct ones a scrape carries. Prometheus keeps every label set as a
 * series of its own; an agent that reports thousands of queues must not become thousands of series
 * in someone's Prometheus. Escaping (backslash, quote, newline) is prom-client's, on output.
 */
import { shortHash } from '@gravito/quasar/protocol'

/** longest label value, in characters (code points); a service name (64) always fits */
export const MAX_LABEL_CHARS = 100
/** distinct services labelled in zenith_nodes; the rest are counted under OTHER */
export const MAX_SERVICES = 500
/** distinct queues labelled in the queue metrics; the rest are summed under OTHER */
export const MAX_QUEUES = 1_000
/**
 * Stands for everything past a bound. Parentheses are not allowed in a service name, so
 * `service="(other)"` can never be a real service, whatever the queue label says.
 */
export const OTHER = '(other)'

// C0, DEL and C1 controls: the protocol refuses them in names, and they have no place in a label
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g

/**
 * A label value for any text. A text that has to change gets its hash, so two names never become
 * one series: controls become U+FFFD, and a text longer than MAX_LABEL_CHARS is cut to a head
 * plus `~` and the hash. Cut by code points, never inside a surrogate pair (which would not be
 * UTF-8 on the wire).
 */
export function labelValue(text: string): string {
  const clean = text.replace(CONTROLS, '\uFFFD')
  const chars = Array.from(clean)
  if (clean === text && chars.length <= MAX_LABEL_CHARS) return text
  const suffix = `~${shortHash(text)}`
  return chars.slice(0, MAX_LABEL_CHARS - suffix.length).join('') + suffix
}

/**
 * Which of `names` keep a label of their own: the first `max` in the order given (the snapshot's
 * order, by name, so the choice is the same on every scrape and every replica).
 */
export function keptNames(names: Iterable<string>, max: number): Set<string> {
  const kept = new Set<string>()
  for (const name of names) {
    if (kept.size >= max) break
    kept.add(name)
  }
  return kept
}
