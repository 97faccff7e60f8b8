/**
 * The console's URLs for its nouns, built here only. Every part is percent-encoded: a queue name is
 * whatever the queue system allows (`send email`, `emails@v2`, `{high}`, `a:b`, `a/b`, unicode),
 * and Fastify decodes each path parameter back to exactly that text, so every URL round-trips.
 */
import { QUEUE_NAME_MAX } from '@gravito/quasar/protocol'

/**
 * Fastify's router refuses (404) a path parameter longer than this, 100 characters by default: a
 * queue name of QUEUE_NAME_MAX characters takes up to 9 once encoded (3 UTF-8 bytes, `%XX` each).
 */
export const MAX_PARAM_LENGTH = QUEUE_NAME_MAX * 9

/** `/pulse/{service}/{nodeId}`: the node's page */
export function nodeUrl(service: string, nodeId: string): string {
  return `/pulse/${encodeURIComponent(service)}/${encodeURIComponent(nodeId)}`
}

/** `/api/pulse/nodes/{service}/{nodeId}`: the node in the JSON API */
export function nodeApiUrl(service: string, nodeId: string): string {
  return `/api/pulse/nodes/${encodeURIComponent(service)}/${encodeURIComponent(nodeId)}`
}

/** `/queues/{service}/{queue}`: the queue's page */
export function queueUrl(service: string, name: string): string {
  return `/queues/${encodeURIComponent(service)}/${encodeURIComponent(name)}`
}

/** `/api/pulse/queues/{service}/{queue}`: the queue in the JSON API */
export function queueApiUrl(service: string, name: string): string {
  return `/api/pulse/queues/${encodeURIComponent(service)}/${encodeURIComponent(name)}`
}
