/**
 * One reader per queue across a service's nodes: a lease key taken with `SET NX PX` and renewed by
 * its holder on every pass, so the other nodes stay idle until it stops renewing (a stopped agent
 * gives it up at once). Renewal is a GET then a PEXPIRE, not a script, so the agent's ACL needs no
 * EVAL: were the lease to expire between the two, the other holder's lease would be extended and
 * both would read for one pass, which costs duplicate records (the archiver keeps one per attempt)
 * and nothing else.
 */
import type { AgentRedis } from '../client.js'

export type LeaseState = 'acquired' | 'renewed' | 'held-elsewhere'

export async function takeLease(redis: AgentRedis, key: string, holder: string, ttlMs: number): Promise<LeaseState> {
  const [[setError, set] = [], [getError, owner] = []] = (await redis.pipeline().set(key, holder, 'PX', ttlMs, 'NX').get(key).exec()) ?? []
  if (setError) throw setError
  if (set === 'OK') return 'acquired'
  if (getError) throw getError
  if (owner !== holder) return 'held-elsewhere'
  await redis.pexpire(key, ttlMs)
  return 'renewed'
}

/** Gives the lease up if this holder still has it, so another node takes over on its next pass. */
export async function releaseLease(redis: AgentRedis, key: string, holder: string): Promise<void> {
  if ((await redis.get(key)) === holder) await redis.del(key)
}
