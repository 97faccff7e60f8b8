/**
 * The console's Redis keys: the protocol's keys (shared with every agent) plus the keys only the
 * console writes. Nothing outside server/redis builds a key by hand.
 */
import { createKeys } from '@gravito/quasar/protocol'

export function createConsoleKeys(prefix: string) {
  const protocol = createKeys(prefix)
  return {
    ...protocol,
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
  }
}

export type ConsoleKeys = ReturnType<typeof createConsoleKeys>
