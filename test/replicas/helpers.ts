/**
 * Shared steps of the replica tests: agents beating through raw protocol keys, every history
 * field as stored, and the commands a Redis has run.
 */
import type { Cluster, Redis } from 'ioredis'
import { createKeys, DEFAULT_PREFIX } from '@gravito/quasar/protocol'
import { sampleHeartbeat } from '../helpers/heartbeat.js'

export const keys = createKeys(DEFAULT_PREFIX)
export const SECOND = 1000

export interface Agent {
  readonly service: string
  readonly nodeId: string
}

/** `count` nodes spread over a few services, as a fleet of small apps beats. */
export function fleet(count: number): Agent[] {
  const services = ['billing', 'mailer', 'search', 'media']
  return Array.from({ length: count }, (_, i) => ({ service: services[i % services.length]!, nodeId: `node-${i}` }))
}

/** One beat of every agent stamped `at`, with values that change per beat and per node, the way the SDK writes it. */
export async function beatAll(redis: Redis | Cluster, agents: readonly Agent[], at: number, step: number): Promise<void> {
  await Promise.all(
    agents.map(({ service, nodeId }, i) => {
      const heartbeat = sampleHeartbeat({
        timestamp: at,
        id: nodeId,
        service,
        cpu: { system: (step * 7 + i) % 100, process: (step + i) % 50, cores: 2 },
        eventLoop: { lagMs: 1 + ((step + i) % 9), p99Ms: 12 },
      })
      // one key each: parallel commands, grouped per node on a Cluster
      return Promise.all([redis.set(keys.node(service, nodeId), JSON.stringify(heartbeat), 'EX', 30), redis.zadd(keys.serviceNodeIndex(service), at, nodeId)])
    }),
  )
}

/** Every history field of every series (key → sorted `field=value` lines), read from every master. */
export async function storedHistory(redis: Redis | Cluster): Promise<Record<string, string[]>> {
  const masters = 'nodes' in redis ? redis.nodes('master') : [redis]
  const stored: Record<string, string[]> = {}
  for (const master of masters) {
    for (const key of await master.keys(`${DEFAULT_PREFIX}hist:*`)) {
      if (!key.includes('{node:') && !key.includes('{queue:')) continue
      stored[key] = Object.entries(await master.hgetall(key))
        .map(([field, value]) => `${field}=${value}`)
        .sort()
    }
  }
  return Object.fromEntries(Object.entries(stored).sort(([a], [b]) => a.localeCompare(b)))
}

/** Calls per command since the last `CONFIG RESETSTAT`, summed over every master. */
export async function commandCalls(redis: Redis | Cluster): Promise<Record<string, number>> {
  const masters = 'nodes' in redis ? redis.nodes('master') : [redis]
  const calls: Record<string, number> = {}
  for (const master of masters) {
    for (const line of (await master.info('commandstats')).split('\n')) {
      const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim())
      if (match) calls[match[1]!] = (calls[match[1]!] ?? 0) + Number(match[2])
    }
  }
  return calls
}

export async function resetCommandCalls(redis: Redis | Cluster): Promise<void> {
  const masters = 'nodes' in redis ? redis.nodes('master') : [redis]
  await Promise.all(masters.map((master) => master.config('RESETSTAT')))
}
