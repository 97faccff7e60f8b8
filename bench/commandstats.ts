/**
 * Redis commands counted by the server: `INFO commandstats` (calls per command), summed over every
 * master of a Cluster. The console's share is what the counters moved by, less what the bench sent
 * itself meanwhile (its writes, and the INFO that took the first reading).
 */
import { shardsOf } from '../server/redis/shards.js'
import type { RedisClient } from '../server/redis/client.js'

/** calls per command name, lower case (`get`, `evalsha`, `cluster|slots`, …) */
export type Calls = Map<string, number>

export interface Reading {
  calls: Calls
  /** INFO commands this reading sent, one per server */
  infoSent: number
}

const CMDSTAT = /^cmdstat_(\S+?):calls=(\d+)/gm

export async function commandCalls(redis: RedisClient): Promise<Reading> {
  const servers = shardsOf(redis) as RedisClient[]
  const calls: Calls = new Map()
  for (const text of await Promise.all(servers.map((server) => server.info('commandstats')))) {
    for (const [, name, n] of text.matchAll(CMDSTAT)) calls.set(name!, (calls.get(name!) ?? 0) + Number(n))
  }
  return { calls, infoSent: servers.length }
}

/** What the console sent between two readings, by command, given what the bench sent meanwhile. */
export function consoleCalls(before: Reading, after: Reading, benchSent: ReadonlyMap<string, number>): Calls {
  const sent = new Map(benchSent)
  sent.set('info', (sent.get('info') ?? 0) + before.infoSent)
  const calls: Calls = new Map()
  for (const [name, n] of after.calls) {
    const moved = n - (before.calls.get(name) ?? 0) - (sent.get(name) ?? 0)
    if (moved > 0) calls.set(name, moved)
  }
  return calls
}
