/**
 * Finds the services that write a slow stream without beating (`slow:*`). SCAN cost grows with the
 * whole keyspace, not the matches, so a pass is split across ticks: at most
 * `stepsPerTick` steps of COUNT 1000 per tick, the cursor continued on the next one, and at most
 * `maxServices` services per pass. A new pass starts `everyMs` after the previous one started.
 * Until a pass ends, the services of the previous pass are kept, plus those the current pass has
 * found so far; when it ends its findings replace them, so a deleted stream stops being read.
 */
import { createShardScan, type ScanSource } from '../redis/shards.js'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { ConsoleKeys } from '../redis/keys.js'

export interface SlowScanOptions {
  readonly everyMs?: number
  readonly stepsPerTick?: number
  readonly maxServices?: number
}

interface Pass {
  services: Set<string>
}

const SCAN_COUNT = 1000

export function createSlowStreamScanner(redis: ScanSource, keys: ConsoleKeys, badData: BadDataLog, options: SlowScanOptions = {}) {
  const { everyMs = 10_000, stepsPerTick = 10, maxServices = 2_000 } = options
  let done: ReadonlySet<string> = new Set()
  let pass: Pass | null = null
  let lastStartAt = Number.NEGATIVE_INFINITY
  // every master's keyspace on a Cluster; the pass's cursors live in here
  const scan = createShardScan(redis, { match: keys.slowPattern(), count: SCAN_COUNT })

  async function step(now: number): Promise<void> {
    if (!pass) {
      // `now < lastStartAt`: the clock moved back; start over rather than wait for it
      if (now - lastStartAt < everyMs && now >= lastStartAt) return
      lastStartAt = now
      pass = { services: new Set() }
    }
    const current = pass
    for (let steps = 0; steps < stepsPerTick; steps++) {
      const { keys: found, finished } = await scan.step()
      for (const key of found) {
        const service = keys.parseSlow(key)
        if (service === null) badData.report(key, 'key name outside the name rule')
        else if (current.services.size < maxServices) current.services.add(service)
        else badData.report(keys.slowPattern(), `more than ${maxServices} slow streams; the rest are not read`)
      }
      if (finished) {
        done = current.services
        pass = null
        return
      }
    }
  }

  return {
    step,
    /** services of the last finished pass, plus those found so far in the current one */
    services(): ReadonlySet<string> {
      if (!pass) return done
      return new Set([...done, ...pass.services])
    },
  }
}
