/**
 * The console's Redis keys: the protocol's keys (shared with every agent) plus the keys only the
 * console writes. Nothing outside server/redis builds a key by hand.
 */
import { createKeys } from '@gravito/quasar/protocol'

export function createConsoleKeys(prefix: string) {
  const protocol = createKeys(prefix)
  return {
    ...protocol,
    /** sorted sets of history samples, one per node and resolution */
    nodeHistory: (service: string, nodeId: string, resolution: string) =>
      `${prefix}hist:node:${service}:${nodeId}:${resolution}`,
    // Alert keys share the `{alerts}` hash tag: the scripts that move an alert between states touch
    // several of them at once, which Redis Cluster allows only within one slot.
    /** hash, field `{rule}|{target}` → JSON of the firing alert; one entry per open episode */
    alertsFiring: () => `${prefix}alerts:{alerts}:firing`,
    /** hash, field `{rule}|{target}` → 1 once a firing message went out for the open episode */
    alertsNotified: () => `${prefix}alerts:{alerts}:notified`,
    /** string, `SET NX PX cooldown`: while it exists no firing message goes out for rule+target */
    alertsCooldown: (rule: string, target: string) => `${prefix}alerts:{alerts}:sent:${rule}:${target}`,
    /** stream of alert events and delivery results, `XADD MAXLEN ~` */
    alertsHistory: () => `${prefix}alerts:{alerts}:history`,
  }
}

export type ConsoleKeys = ReturnType<typeof createConsoleKeys>
