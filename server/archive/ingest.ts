/**
 * The archiver: moves finished-job records from every service's `archive:{service}` stream into
 * the archive store. Consoles writing to one archive share one consumer group (streams.ts
 * `archiveGroup`), so with several replicas on one PostgreSQL database each entry is stored by one
 * of them, and a replica with its own SQLite file reads every entry into it. Delivery is at least
 * once (a console that dies between the store write and the XACK leaves its entries pending, and
 * another console of its group takes them over after `claimIdleMs`), and the store's upsert by (service, queue, jobId, attempt) makes a second delivery harmless.
 *
 * A round reads the services in groups (one pipelined claim per group), writes each group's good
 * records in one store transaction, then acknowledges what it wrote and what it skipped. A
 * malformed, oversized or binary entry is skipped, counted under its service with the reason, and
 * acknowledged: it never stops ingest. A store that fails leaves the group's good entries pending
 * (this console reads them again first next round) and ends the round with the reason in the
 * status; the collector, on its own loop and connection, never waits for any of it.
 *
 * Rounds run on their own unref'd timer, one at a time, and yield to waiting requests between
 * groups.
 */
import { readJobRecord, JOB_RECORD_LIMITS, DEFAULT_REDACT_KEYS, type JobRecordEntry } from '@gravito/quasar/protocol'
import type { Clock } from '../clock.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import type { ArchivedJob, ArchiveStore } from './store.js'
import { archiveGroup, type ArchiveStreams } from './streams.js'
import { parseClaimRead, type ClaimBounds } from './claim-script.js'
import { createIngestStatus, type IngestStatus } from './ingest-status.js'
import { replicaName } from '../runtime/replica-name.js'

export interface IngestOptions {
  /** services read per pipelined claim; also the services whose records share one store transaction */
  readonly servicesPerGroup: number
  readonly claim: ClaimBounds
  /** groups per round at most; a round with work left ends here and the next starts at once */
  readonly groupsPerRound: number
  /** pause between rounds when the last one found nothing */
  readonly idleMs: number
  readonly redactKeys: readonly string[]
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  servicesPerGroup: 8,
  // 8 calls of at most 512 KB + one entry: a group's replies stay under 8 MB whatever agents wrote;
  // at most 800 records per store transaction, which SQLite writes on the event loop (tens of ms)
  claim: { count: 100, callBytes: 512 * 1024, entryBytes: 4 * JOB_RECORD_LIMITS.entry, claimIdleMs: 60_000, claimSteps: 20, rawBytes: 2 * 1024 * 1024, forgetIdleMs: 24 * 3_600_000 },
  groupsPerRound: 64,
  idleMs: 1_000,
  redactKeys: DEFAULT_REDACT_KEYS,
}

/** Options as callers give them: any of them, the claim bounds too. */
export type IngestTuning = Partial<Omit<IngestOptions, 'claim'>> & { readonly claim?: Partial<ClaimBounds> }

export interface IngestDeps {
  readonly streams: ArchiveStreams
  /** the store, opened on first use; rejects while it cannot be opened */
  readonly store: () => Promise<ArchiveStore>
  /** services that beat (from the latest snapshot); the streams' SCAN adds those that only write records */
  readonly beatingServices: () => Iterable<string>
  readonly clock: Clock
  readonly log: { warn(object: object, message: string): void }
  readonly options?: IngestTuning
  /** the consumer name; unique per console process by default */
  readonly consumer?: string
}

export interface RoundResult {
  /** records stored this round */
  readonly ingested: number
  readonly skipped: number
  /** some stream had more than one claim could take: another round should follow at once */
  readonly more: boolean
  /** why the round stopped early, or null */
  readonly error: string | null
}

export interface ArchiveIngest {
  /** one round over every service; never rejects (failures land in the status) */
  runOnce(): Promise<RoundResult>
  /** runs rounds until one finds nothing more to read (tests and benches; stops on an error) */
  drain(maxRounds?: number): Promise<RoundResult>
  /** rounds on the timer; each starts after the previous ended */
  start(): void
  /** stops the timer and waits up to `maxWaitMs` for the round in flight; false when it was still running */
  stop(maxWaitMs?: number): Promise<boolean>
  status(): IngestStatus
}

/** The consumer name of this console process in the group. */
export const uniqueConsumerName = replicaName

/** Record text that ioredis decoded from bytes that were not UTF-8 (U+FFFD), or control characters: not a name to keep. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const NOT_TEXT = /[\uFFFD\u0000-\u001F\u007F]/u

export function createArchiveIngest(deps: IngestDeps): ArchiveIngest {
  const options: IngestOptions = { ...DEFAULT_INGEST_OPTIONS, ...deps.options, claim: { ...DEFAULT_INGEST_OPTIONS.claim, ...deps.options?.claim } }
  const consumer = deps.consumer ?? uniqueConsumerName()
  const status = createIngestStatus(consumer)
  let rotation = 0
  let timer: NodeJS.Timeout | null = null
  let inFlight: Promise<RoundResult> | null = null
  let stopped = true

  function servicesToRead(): string[] {
    const services = new Set(deps.streams.scannedServices())
    for (const service of deps.beatingServices()) services.add(service)
    return [...services].sort()
  }

  async function round(): Promise<RoundResult> {
    const now = deps.clock()
    let ingested = 0
    let skipped = 0
    let more = false
    try {
      await deps.streams.scanStep(now)
      const store = await deps.store()
      const services = servicesToRead()
      const groups: string[][] = []
      // start where the last round stopped, so services late in the order get their turn too
      const start = services.length === 0 ? 0 : rotation % services.length
      const ordered = [...services.slice(start), ...services.slice(0, start)]
      for (let i = 0; i < ordered.length; i += options.servicesPerGroup) groups.push(ordered.slice(i, i + options.servicesPerGroup))
      let done = 0
      for (const group of groups) {
        if (done >= options.groupsPerRound) {
          more = true
          break
        }
        const result = await ingestGroup(store, archiveGroup(store.archiveId), group)
        ingested += result.ingested
        skipped += result.skipped
        if (result.full) more = true
        done++
        rotation += group.length
        // between groups: requests waiting on the event loop go first
        await new Promise((resolve) => setImmediate(resolve))
      }
      status.roundEnded(deps.clock(), null)
      return { ingested, skipped, more, error: null }
    } catch (error) {
      const reason = describeFailure(error)
      deps.log.warn({ err: error, event: 'archive_round_failed' }, `archive ingest stopped: ${reason}`)
      status.roundEnded(deps.clock(), reason)
      return { ingested, skipped, more: false, error: reason }
    }
  }

  async function ingestGroup(store: ArchiveStore, consumerGroup: string, group: readonly string[]): Promise<{ ingested: number; skipped: number; full: boolean }> {
    const replies = await deps.streams.claim(group, consumerGroup, consumer, options.claim)
    const records: ArchivedJob[] = []
    const reads: { service: string; goodIds: string[]; skippedIds: string[] }[] = []
    let skipped = 0
    let full = false
    for (const { service, reply } of replies) {
      if (!reply.ok) {
        // a key of another type or refused by the ACL concerns that service alone
        if (!isKeyError(reply.error)) throw reply.error
        status.serviceError(service, shortReason(reply.error))
        continue
      }
      const read = parseClaimRead(reply.value)
      if (!read) {
        status.serviceError(service, 'the read script answered in another shape')
        continue
      }
      status.group(service, read.lag, read.pending)
      if (read.entries.length >= options.claim.count) full = true
      const skippedIds: string[] = []
      const goodIds: string[] = []
      for (const entry of read.entries) {
        if (entry.kind === 'deleted') {
          skippedIds.push(entry.id)
          continue
        }
        const parsed = entry.kind === 'oversized' ? { ok: false as const, error: `entry is over ${options.claim.entryBytes} bytes` } : parseEntry(entry.id, entry.fields)
        if (!parsed.ok) {
          status.skipped(service, parsed.error)
          skipped++
          skippedIds.push(entry.id)
          continue
        }
        records.push(toArchivedJob(service, parsed.value))
        goodIds.push(entry.id)
      }
      reads.push({ service, goodIds, skippedIds })
    }
    let storeError: unknown = null
    if (records.length > 0) {
      try {
        await store.upsert(records)
      } catch (error) {
        storeError = error
      }
    }
    // what was skipped is final even when the store failed; what was not stored stays pending
    const acks = reads.map(({ service, goodIds, skippedIds }) => ({ service, ids: storeError === null ? [...goodIds, ...skippedIds] : skippedIds }))
    for (const { reply } of await deps.streams.ack(acks, consumerGroup)) {
      if (!reply.ok && !isKeyError(reply.error)) throw reply.error
    }
    if (storeError !== null) throw new StoreError(storeError)
    const now = deps.clock()
    for (const { service, goodIds } of reads) status.ingested(service, goodIds.length, now)
    return { ingested: records.length, skipped, full }
  }

  function parseEntry(id: string, fields: readonly string[]): ReturnType<typeof readJobRecord> {
    const parsed = readJobRecord(id, fields, options.redactKeys)
    if (!parsed.ok) return parsed
    if (NOT_TEXT.test(parsed.value.queue) || NOT_TEXT.test(parsed.value.jobId)) return { ok: false, error: 'queue or jobId is not text' }
    return parsed
  }

  async function runOnce(): Promise<RoundResult> {
    if (inFlight) return inFlight
    inFlight = round()
    try {
      return await inFlight
    } finally {
      inFlight = null
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return
    timer = setTimeout(() => {
      timer = null
      void runOnce().then((result) => schedule(result.more && result.error === null ? 0 : options.idleMs))
    }, delayMs)
    timer.unref()
  }

  return {
    runOnce,
    async drain(maxRounds = 1_000) {
      let total = { ingested: 0, skipped: 0, more: false, error: null as string | null }
      for (let i = 0; i < maxRounds; i++) {
        const result = await runOnce()
        total = { ingested: total.ingested + result.ingested, skipped: total.skipped + result.skipped, more: result.more, error: result.error }
        if (result.error !== null || (!result.more && result.ingested + result.skipped === 0)) break
      }
      return total
    },
    start() {
      if (!stopped) return
      stopped = false
      status.setRunning(true)
      schedule(0)
    },
    async stop(maxWaitMs = Number.POSITIVE_INFINITY) {
      stopped = true
      status.setRunning(false)
      if (timer) clearTimeout(timer)
      timer = null
      if (!inFlight) return true
      let waited: NodeJS.Timeout | undefined
      const gaveUp = new Promise<false>((resolve) => {
        waited = setTimeout(() => resolve(false), maxWaitMs)
        waited.unref()
      })
      const finished = await Promise.race([inFlight.then(() => true as const), gaveUp])
      clearTimeout(waited)
      return finished
    },
    status: () => status.snapshot(),
  }
}

/** A failure of the store, told apart from Redis' in the status. */
class StoreError extends Error {
  constructor(readonly original: unknown) {
    super(`the archive store failed: ${original instanceof Error ? original.message : String(original)}`)
  }
}

/** One short line for the status: no stack, no agent data beyond the first words of a message. */
function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.length > 200 ? `${message.slice(0, 200)}…` : message
}

export function toArchivedJob(service: string, record: JobRecordEntry): ArchivedJob {
  return {
    service,
    queue: record.queue,
    jobId: record.jobId,
    attempt: record.attempt,
    state: record.state,
    name: record.name ?? null,
    driver: record.driver ?? null,
    addedAt: record.addedAt ?? null,
    startedAt: record.startedAt ?? null,
    finishedAt: record.finishedAt,
    durationMs: record.durationMs ?? null,
    waitMs: record.waitMs ?? null,
    failedReason: record.failedReason ?? null,
    stack: record.stack ?? null,
    data: record.data ?? null,
    opts: record.opts ?? null,
    result: record.result ?? null,
    appVersion: record.appVersion ?? null,
    nodeId: record.nodeId,
  }
}
