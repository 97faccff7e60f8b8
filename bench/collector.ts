/**
 * Collector refresh against the floor: a raw pipelined GET of the same heartbeat keys, no parsing.
 * Both run alternately in the same process against the same Redis, so machine noise hits both.
 */
import { Redis } from 'ioredis'
import { createRedisNodeCollector } from '../server/nodes/collector-part.js'
import { createBadDataLog } from '../server/collector/bad-data-log.js'
import { createConsoleKeys } from '../server/redis/keys.js'
import { writeNodes } from './fixtures.js'
import { median, percentile, round, timeRuns } from './stats.js'

export interface CollectorResult {
  nodes: number
  rawMedianMs: number
  collectorMedianMs: number
  collectorP95Ms: number
  ratio: number
}

export async function benchCollector(url: string, sizes: number[], runs = 15): Promise<CollectorResult[]> {
  const redis = new Redis(url)
  const results: CollectorResult[] = []
  try {
    for (const size of sizes) {
      await redis.flushall()
      const now = Date.now()
      const nodeKeys = await writeNodes(redis, size, 20, now)
      const part = createRedisNodeCollector(redis, createConsoleKeys('gravito:quasar:'), { graceMs: 300_000, badData: createBadDataLog({ warn: () => {} }, Date.now) })
      const rawRead = async () => {
        const pipeline = redis.pipeline()
        for (let i = 0; i < nodeKeys.length; i += 500) pipeline.mget(...nodeKeys.slice(i, i + 500))
        await pipeline.exec()
      }
      const collect = async () => {
        const records = await part.collect(Date.now(), undefined as never)
        if (records.length !== size) throw new Error(`collector saw ${records.length} of ${size} nodes`)
      }
      const raw: number[] = []
      const ours: number[] = []
      // alternate so both see the same machine conditions
      await timeRuns(rawRead, 0, 3)
      await timeRuns(collect, 0, 3)
      for (let i = 0; i < runs; i++) {
        // as in production (beats every 10 s, ticks every 2 s), a fifth of the nodes beat between
        // two ticks; written untimed, so both sides read the same fresh values
        await writeNodes(redis, size, 20, Date.now(), (n) => n % 5 === i % 5)
        raw.push(...(await timeRuns(rawRead, 1, 0)))
        ours.push(...(await timeRuns(collect, 1, 0)))
      }
      const rawMedianMs = median(raw)
      const collectorMedianMs = median(ours)
      results.push({
        nodes: size,
        rawMedianMs: round(rawMedianMs),
        collectorMedianMs: round(collectorMedianMs),
        collectorP95Ms: round(percentile(ours, 95)),
        ratio: round(collectorMedianMs / rawMedianMs, 2),
      })
    }
  } finally {
    redis.disconnect()
  }
  return results
}
