/**
 * Every Redis key of wire protocol v1 is built and parsed here. Placeholders are validated names
 * (see names.ts), so a built key can always be parsed back into the same parts.
 */
import { isValidName } from './names.js'

export const DEFAULT_PREFIX = 'gravito:quasar:'
export const PROTOCOL_VERSION = 1

/** Seconds a heartbeat or queue snapshot lives without being refreshed. */
export const HEARTBEAT_TTL_SECONDS = 30
/** Approximate cap on each slow-log stream (`XADD MAXLEN ~`). */
export const SLOW_STREAM_MAXLEN = 1000
/** Largest value the console will parse; anything longer is skipped unread. */
export const MAX_VALUE_BYTES = 64 * 1024

export interface NodeRef {
  service: string
  nodeId: string
}

export function createKeys(prefix: string = DEFAULT_PREFIX) {
  return {
    prefix,
    /** string (JSON heartbeat), `EX 30` */
    node: (service: string, nodeId: string) => `${prefix}node:${service}:${nodeId}`,
    /** SCAN pattern that matches every heartbeat key */
    nodePattern: () => `${prefix}node:*`,
    /**
     * sorted set, member `{nodeId}`, score = the beat's timestamp (epoch ms). Written by our SDK in
     * the same pipeline as the heartbeat so the console can list a service's nodes without reading
     * every key; one key per service, so an agent's ACL can grant its own service's index only.
     * Agents that do not write it are still found by the console's periodic SCAN.
     */
    serviceNodeIndex: (service: string) => `${prefix}index:nodes:${service}`,
    /** SCAN pattern that matches every per-service node index (not the legacy shared one) */
    serviceNodeIndexPattern: () => `${prefix}index:nodes:*`,
    /**
     * Legacy: one sorted set shared by every service, member `{service}:{nodeId}`. Written by older
     * agents; the console still reads it (bounded) until they are upgraded.
     */
    nodeIndex: () => `${prefix}index:nodes`,
    /** string (JSON QueueSnapshot), `EX 30` */
    queues: (service: string) => `${prefix}queues:${service}`,
    queuesPattern: () => `${prefix}queues:*`,
    /** stream, `XADD MAXLEN ~ 1000` */
    slow: (service: string) => `${prefix}slow:${service}`,
    slowPattern: () => `${prefix}slow:*`,
    /** stream of finished-job records (see archive.ts), `XADD MAXLEN ~ ARCHIVE_STREAM_MAXLEN` */
    archive: (service: string) => `${prefix}archive:${service}`,
    archivePattern: () => `${prefix}archive:*`,
    /**
     * string, `SET NX PX`: the node that reads one queue's finished jobs for the service (`source`
     * names the queue, see the SDK's archive/sources.ts); renewed by its holder, so one node of
     * the service records each queue
     */
    recorderLease: (service: string, source: string) => `${prefix}recorder:${service}:lease:${source}`,
    /** string: where that reading stopped (a BullMQ events stream id, Horizon scores), so a new holder resumes there */
    recorderCursor: (service: string, source: string) => `${prefix}recorder:${service}:cursor:${source}`,
    /** stream of signed commands for one node (durable delivery) */
    commandStream: (service: string, nodeId: string) => `${prefix}cmd:${service}:${nodeId}`,
    /** pub/sub channel that wakes the node's agent when a command is added */
    commandChannel: (service: string, nodeId: string) => `${prefix}cmd:${service}:${nodeId}`,
    /**
     * string (JSON command result), written by the agent of `service`. Per service, so the ACL
     * lets each agent write only its own service's results (`~…cmdres:{service}:*`)
     */
    commandResult: (service: string, commandId: string) => `${prefix}cmdres:${service}:${commandId}`,
    /**
     * where agents before the per-service layout wrote results: one key per command id, writable by
     * every agent. The console still reads it while such agents remain; never written by this SDK
     */
    legacyCommandResult: (commandId: string) => `${prefix}cmdres:${commandId}`,
    /** string, `SET NX`: marks a command id as already executed (replay guard) */
    commandSeen: (service: string, nodeId: string, commandId: string) => `${prefix}cmdseen:${service}:${nodeId}:${commandId}`,

    parseNode: (key: string): NodeRef | null => parseTwoPart(key, `${prefix}node:`),
    parseQueues: (key: string): string | null => parseOnePart(key, `${prefix}queues:`),
    parseSlow: (key: string): string | null => parseOnePart(key, `${prefix}slow:`),
    parseArchive: (key: string): string | null => parseOnePart(key, `${prefix}archive:`),
    /** the service of a per-service node index key */
    parseServiceNodeIndex: (key: string): string | null => parseOnePart(key, `${prefix}index:nodes:`),
    /** a member of the legacy shared index */
    parseIndexMember: (member: string): NodeRef | null => parseTwoPart(member, ''),
    /** a member of the legacy shared index; a per-service index holds the bare node id */
    indexMember: (service: string, nodeId: string) => `${service}:${nodeId}`,
  }
}

export type ProtocolKeys = ReturnType<typeof createKeys>

function parseTwoPart(key: string, head: string): NodeRef | null {
  if (!key.startsWith(head)) return null
  const rest = key.slice(head.length)
  const colon = rest.indexOf(':')
  if (colon < 0) return null
  const service = rest.slice(0, colon)
  const nodeId = rest.slice(colon + 1)
  return isValidName(service) && isValidName(nodeId) ? { service, nodeId } : null
}

function parseOnePart(key: string, head: string): string | null {
  if (!key.startsWith(head)) return null
  const name = key.slice(head.length)
  return isValidName(name) ? name : null
}
