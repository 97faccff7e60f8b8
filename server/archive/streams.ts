/**
 * The archiver's Redis I/O: finding the services that write an archive stream (a SCAN of
 * `archive:*`, split into bounded steps), the bounded group reads (claim-script.ts) and the
 * acknowledgements, pipelined by slot so the same store runs on a Cluster. The ingest loop decides
 * what to read and when; it never sends a command itself.
 */
import type { RedisClient } from '../redis/client.js'
import type { Reply } from '../redis/batch.js'
import { createShardScan } from '../redis/shards.js'
import { pipelineBySlot } from '../redis/shards.js'
import type { ConsoleKeys } from '../redis/keys.js'
import { defineClaimScript, queueClaim, type ClaimBounds } from './claim-script.js'

/**
 * The consumer group of the consoles that write to one shared archive (PostgreSQL): each entry is
 * delivered to one console of them.
 */
export const ARCHIVE_GROUP = 'zenith-archiver'

/**
 * The group an archive reads through. A group delivers each entry to one of its consumers, so
 * consoles share a group exactly when they share the rows: one PostgreSQL database, or one SQLite
 * file. Replicas with their own SQLite files each read every entry through a group of their own.
 */
export function archiveGroup(archiveId: string | null): string {
  return archiveId === null ? ARCHIVE_GROUP : `${ARCHIVE_GROUP}:${archiveId}`
}

const SCAN_COUNT = 1000

export interface ArchiveScanOptions {
  /** a new pass starts this long after the previous one started */
  readonly everyMs: number
  /** SCAN steps (COUNT 1000 on every master) per call of `scanStep` */
  readonly stepsPerRound: number
  readonly maxServices: number
}

export interface ArchiveStreams {
  /** one round's share of the `archive:*` SCAN pass; key names outside the name rule go to `onBadKey` */
  scanStep(now: number): Promise<void>
  /** services of the last finished pass, plus those found so far in the current one */
  scannedServices(): ReadonlySet<string>
  /** one claim per service, one round trip per slot; each service comes back with its own reply */
  claim(services: readonly string[], group: string, consumer: string, bounds: ClaimBounds): Promise<{ service: string; reply: Reply<unknown> }[]>
  /** XACK per service, one round trip per slot; each comes back with its reply (the count acknowledged) */
  ack(acks: readonly { service: string; ids: readonly string[] }[], group: string): Promise<{ service: string; reply: Reply<unknown> }[]>
}

export function createArchiveStreams(redis: RedisClient, keys: ConsoleKeys, options: ArchiveScanOptions, onBadKey: (key: string, reason: string) => void): ArchiveStreams {
  defineClaimScript(redis)
  const scan = createShardScan(redis, { match: keys.archivePattern(), count: SCAN_COUNT })
  let done: ReadonlySet<string> = new Set()
  let pass: Set<string> | null = null
  let lastStartAt = Number.NEGATIVE_INFINITY

  return {
    async scanStep(now) {
      if (!pass) {
        // `now < lastStartAt`: the clock moved back; start over rather than wait for it
        if (now - lastStartAt < options.everyMs && now >= lastStartAt) return
        lastStartAt = now
        pass = new Set()
      }
      const current = pass
      for (let steps = 0; steps < options.stepsPerRound; steps++) {
        const { keys: found, finished } = await scan.step()
        for (const key of found) {
          const service = keys.parseArchive(key)
          if (service === null) onBadKey(key, 'key name outside the name rule')
          else if (current.size < options.maxServices) current.add(service)
          else onBadKey(keys.archivePattern(), `more than ${options.maxServices} archive streams; the rest are not read`)
        }
        if (finished) {
          done = current
          pass = null
          return
        }
      }
    },
    scannedServices() {
      return pass ? new Set([...done, ...pass]) : done
    },
    async claim(services, group, consumer, bounds) {
      const batch = pipelineBySlot(redis)
      const queued = services.map((service) => ({ service, slot: queueClaim(batch, keys.archive(service), group, consumer, bounds) }))
      await batch.exec()
      return queued.map(({ service, slot }) => ({ service, reply: slot.reply }))
    },
    async ack(acks, group) {
      const batch = pipelineBySlot(redis)
      const queued = acks
        .filter((ack) => ack.ids.length > 0)
        .map(({ service, ids }) => {
          const key = keys.archive(service)
          return { service, slot: batch.add<number>(key, (pipeline) => pipeline.xack(key, group, ...ids)) }
        })
      await batch.exec()
      return queued.map(({ service, slot }) => ({ service, reply: slot.reply }))
    },
  }
}
