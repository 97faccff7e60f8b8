/**
 * The console's Redis keys: the protocol's keys (shared with every agent) plus the keys only the
 * console writes. Nothing outside server/redis builds a key by hand.
 */
import { createKeys, isValidName } from '@gravito/quasar/protocol'

export function createConsoleKeys(prefix: string) {
  const protocol = createKeys(prefix)
  return {
    ...protocol,
    /**
     * One SCAN pattern for heartbeat keys (`node:…`) and node indexes (`index:nodes…`), so one pass
     * over the keyspace finds both; no other key of the protocol or the console matches it.
     */
    nodeDiscoveryPattern: () => `${prefix}[ni][on]de*`,
    // History keys: hash, field = bucket start (epoch ms), value = compact sample or rollup
    // (server/history/encoding.ts); one key per series, resolution and chunk of 120 buckets. The
    // `{node:…}` / `{queue:…}` hash tag keeps a series in one Redis Cluster slot, so the rollup
    // script may touch all its keys at once.
    nodeHistory: (service: string, nodeId: string, resolution: string, chunkStart: number) =>
      `${prefix}hist:{node:${service}:${nodeId}}:${resolution}:${chunkStart}`,
    queueHistory: (service: string, queue: string, resolution: string, chunkStart: number) =>
      `${prefix}hist:{queue:${service}:${queue}}:${resolution}:${chunkStart}`,
    // Alert keys share the `{alerts}` hash tag: the scripts that move an alert between states touch
    // several of them at once, which Redis Cluster allows only within one slot.
    /** hash, field `{rule}|{target}` → JSON of the firing alert; one entry per open episode */
    alertsFiring: () => `${prefix}alerts:{alerts}:firing`,
    /** hash, field `{rule}|{target}` → 1 once a firing message went out for the open episode */
    alertsNotified: () => `${prefix}alerts:{alerts}:notified`,
    /** string: when the rule+target's cool-down ends (epoch ms); no firing message before then */
    alertsCooldown: (rule: string, target: string) => `${prefix}alerts:{alerts}:sent:${rule}:${target}`,
    /** stream of alert events and delivery results, `XADD MAXLEN ~` */
    alertsHistory: () => `${prefix}alerts:{alerts}:history`,
    // Audit keys share the `{audit}` hash tag: the script that closes a command moves it from the
    // pending hash to the log in one step, which Redis Cluster allows only within one slot.
    /** hash, field = command id → JSON of a command sent and not yet finished (who, when, what) */
    auditPending: () => `${prefix}audit:{audit}:pending`,
    /** stream of finished commands (one entry each, with its result), `XADD MAXLEN ~` + `XTRIM MINID ~` */
    auditLog: () => `${prefix}audit:{audit}:log`,
    // Auth keys (server/auth), under `auth:`, which no agent's ACL pattern reaches. Sessions share
    // the `{auth}` hash tag: ending all of a user's sessions reads the index and deletes it in one
    // transaction, which Redis Cluster allows only within one slot.
    /** string: JSON of one session, under a SHA-256 of its id (the id itself is only in the cookie) */
    authSession: (idHash: string) => `${prefix}auth:{auth}:session:${idHash}`,
    /** sorted set: one user's session id hashes, scored by when each ends at the latest (epoch ms) */
    authUserSessions: (username: string) => `${prefix}auth:{auth}:user:${username}`,
    /** set: the usernames that may have sessions, so that all of them can be ended */
    authUsers: () => `${prefix}auth:{auth}:users`,
    /**
     * hash { failures, resetAt }: failed logins from one address in a window, per account (with
     * `account`) or over all accounts; the address is the hash tag, so one script updates both
     */
    authLoginFailures: (address: string, account?: string) => `${prefix}auth:login:{${address}}${account === undefined ? '' : `:${account}`}`,
  }
}

export type ConsoleKeys = ReturnType<typeof createConsoleKeys>

/**
 * Keys of queues the console finds on its own and shows read-only: the layouts BullMQ and
 * Laravel write. Not protocol keys; only server/queues reads them, and never writes. Queue names
 * that break the name rule are not parsed, so every parsed name can be put back into a key.
 */
export const bullmqKeys = {
  /** SCAN pattern for BullMQ's per-queue hash `{prefix}:{queue}:meta` (prefix `bull` by default) */
  metaPattern: () => '*:meta',
  parseMeta(key: string): { prefix: string; queue: string } | null {
    if (!key.endsWith(':meta')) return null
    const head = key.slice(0, -':meta'.length)
    const colon = head.lastIndexOf(':')
    if (colon <= 0) return null
    const queue = head.slice(colon + 1)
    return isValidName(queue) ? { prefix: head.slice(0, colon), queue } : null
  },
  /** lists `wait` `active` `paused`, sorted sets `delayed` `prioritized` `failed` `completed`, hash `meta` */
  part: (prefix: string, queue: string, part: string) => `${prefix}:${queue}:${part}`,
  /** hash of one job */
  job: (prefix: string, queue: string, jobId: string) => `${prefix}:${queue}:${jobId}`,
}

/** `{prefix}queues:{queue}`, optionally `:delayed` or `:reserved`; the prefix has no `:` */
const LARAVEL_KEY = /^([A-Za-z0-9_.-]*)queues:([A-Za-z0-9._-]{1,64})(?::(delayed|reserved))?$/

export const laravelKeys = {
  /** SCAN pattern; it also matches protocol keys (`…:queues:{service}`), which callers tell apart first */
  pattern: () => '*queues:*',
  parse(key: string): { prefix: string; queue: string } | null {
    const match = LARAVEL_KEY.exec(key)
    return match && isValidName(match[2]) ? { prefix: match[1]!, queue: match[2]! } : null
  },
  /** list of pending payloads (RPUSH, popped from the left) */
  list: (prefix: string, queue: string) => `${prefix}queues:${queue}`,
  /** sorted sets scored by the time a job becomes available / its reservation expires (seconds) */
  delayed: (prefix: string, queue: string) => `${prefix}queues:${queue}:delayed`,
  reserved: (prefix: string, queue: string) => `${prefix}queues:${queue}:reserved`,
}
