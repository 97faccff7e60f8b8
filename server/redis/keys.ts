/**
 * The console's Redis keys: the protocol's keys (shared with every agent) plus the keys only the
 * console writes. Nothing outside server/redis builds a key by hand.
 */
import { createKeys } from '@gravito/quasar/protocol'

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
    nodeHistory: (service: string, nodeId: string, resolution: string, chunkStart: number) => `${prefix}hist:{node:${service}:${nodeId}}:${resolution}:${chunkStart}`,
    queueHistory: (service: string, queue: string, resolution: string, chunkStart: number) => `${prefix}hist:{queue:${service}:${queueKeyPart(queue)}}:${resolution}:${chunkStart}`,
    /** string `{replica}|{until}` (`PX`): the replica that writes history while the others stand by (server/history/lease-script.ts) */
    historyWriter: () => `${prefix}hist:{writer}:lease`,
    // Slow aggregates (server/slow/fold-script.ts), under `slowagg:`, which no agent's ACL pattern
    // reaches. The `{slowagg:service}` hash tag keeps a service's keys in one Cluster slot, so the
    // fold script may touch all of them at once.
    /** hash: one service's slow counts and histograms of one bucket (`5m` or `1h`, start epoch ms) */
    slowAggregate: (service: string, resolution: '5m' | '1h', bucketStart: number) => `${prefix}slowagg:{slowagg:${service}}:${resolution}:${bucketStart}`,
    /** sorted set: the stream ids of a service already folded, the newest FOLDED_KEPT of them */
    slowFolded: (service: string) => `${prefix}slowagg:{slowagg:${service}}:folded`,
    /** string: the highest id trimmed from `slowFolded`; an id at or under it counts as folded */
    slowFoldFloor: (service: string) => `${prefix}slowagg:{slowagg:${service}}:floor`,
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
    /** string: JSON of the command a confirmation sent, under the key it was rendered with (`SET NX`) */
    auditConfirmation: (key: string) => `${prefix}audit:{audit}:confirmed:${key}`,
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
 * A queue name as a part of a key the console writes. Queue names are the queue system's (`a:b`,
 * `{high}`, `send email`): every character outside the service-name alphabet is percent-encoded
 * (`%` included), so the part holds no `:` separator, glob character or hash-tag brace, two names
 * never share a part, and a name that passes the name rule is its own part (keys written before
 * queue names were widened stay where they are).
 */
export function queueKeyPart(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/gu, (char) => [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''))
}

/**
 * Keys of queues the console finds on its own and shows read-only: the layouts BullMQ and Laravel
 * write, owned by the SDK's layout module so the SDK and the console read them alike. Only
 * server/queues reads them, and never writes.
 */
export { BULLMQ_META_PATTERN, LARAVEL_PATTERN, bullmqKeys, laravelKeys, parseBullmqMeta, parseLaravelKey } from '@gravito/quasar/layouts'
