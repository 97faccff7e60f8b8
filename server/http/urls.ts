/**
 * The console's URLs for its nouns, built here only. Every part is percent-encoded: a queue name is
 * whatever the queue system allows (`send email`, `emails@v2`, `{high}`, `a:b`, `a/b`, unicode),
 * and Fastify decodes each path parameter back to exactly that text, so every URL round-trips.
 *
 * Two rules keep a name from ever reaching another route:
 * - a name is always a path segment below a fixed prefix that holds only names (`/pulse/{service}/`,
 *   `/queues/{service}/`); no fixed route (a list's fragment, an API) lives in that space;
 * - a name made only of dots never becomes a bare `.` or `..` segment, which a browser resolves
 *   (`/pulse/billing/..` is `/pulse/`) before any request is sent: see `nameSegment`.
 */
import { QUEUE_NAME_MAX } from '@gravito/quasar/protocol'

/**
 * Fastify's router refuses (404) a path parameter longer than this, 100 characters by default: a
 * queue name of QUEUE_NAME_MAX characters takes up to 9 once encoded (3 UTF-8 bytes, `%XX` each).
 */
export const MAX_PARAM_LENGTH = QUEUE_NAME_MAX * 9

/** The route parameters that hold a name built by `nameSegment`; `nameParams` reads them back. */
export const NAME_PARAMS = ['service', 'nodeId', 'queue', 'jobId'] as const

/**
 * Names of one or two dots, after any number of `~`. Percent-encoding cannot save `.` and `..`: the URL
 * standard resolves `%2E%2E` like `..` too. So such a segment gets one `~` in front, which the
 * router hands back and `nameFromSegment` takes off. A name that already looks like an escaped
 * one (`~..`, a legal queue name) gets one more, so the mapping stays one-to-one.
 */
const DOTS_AFTER_TILDES = /^~*\.{1,2}$/
const ESCAPED_DOTS = /^~+\.{1,2}$/

/** One name as one path segment that no browser rewrites. */
export function nameSegment(name: string): string {
  return DOTS_AFTER_TILDES.test(name) ? `~${encodeURIComponent(name)}` : encodeURIComponent(name)
}

/** The name a decoded path parameter stands for: `nameSegment` undone. */
export function nameFromSegment(param: string): string {
  return ESCAPED_DOTS.test(param) ? param.slice(1) : param
}

/** `/pulse/{service}/{nodeId}`: the node's page */
export function nodeUrl(service: string, nodeId: string): string {
  return `/pulse/${nameSegment(service)}/${nameSegment(nodeId)}`
}

/** `/api/pulse/nodes/{service}/{nodeId}`: the node in the JSON API */
export function nodeApiUrl(service: string, nodeId: string): string {
  return `/api/pulse/nodes/${nameSegment(service)}/${nameSegment(nodeId)}`
}

/** `/queues/{service}/{queue}`: the queue's page */
export function queueUrl(service: string, name: string): string {
  return `/queues/${nameSegment(service)}/${nameSegment(name)}`
}

/** `/api/pulse/queues/{service}/{queue}`: the queue in the JSON API */
export function queueApiUrl(service: string, name: string): string {
  return `/api/pulse/queues/${nameSegment(service)}/${nameSegment(name)}`
}

/** `/jobs/{service}/{queue}/{id}`: one job's detail page (live or archived) */
export function jobUrl(service: string, queue: string, jobId: string): string {
  return `/jobs/${nameSegment(service)}/${nameSegment(queue)}/${nameSegment(jobId)}`
}
