/**
 * The job archive in the console: opens the configured store (on first use, retried with a
 * pause while it cannot be opened), runs the archiver (ingest.ts) and retention (retention.ts) on
 * their own timers, and decorates `app.archive` for the areas that read it. With `--archive off`
 * nothing is opened, loaded or run, and `app.archive.store` is null.
 *
 * The archiver reads Redis on a connection of its own: its claims, up to a few megabytes, never
 * queue ahead of the collector's reads on the shared one.
 */
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import { duplicateConnection, waitUntilReady } from '../redis/connection.js'
import type { ArchiveStats, ArchiveStore, RetentionPolicy } from './store.js'
import { DEFAULT_RETENTION, describeArchiveLocation, describeRetention, type ArchiveTarget } from './settings.js'
import { openArchiveStore, type OpenStore } from './engines.js'
import { createArchiveStreams } from './streams.js'
import { createArchiveIngest, type ArchiveIngest, type IngestOptions } from './ingest.js'
import { MAX_SERVICES, type IngestStatus } from './ingest-status.js'
import { createRetentionRunner, type RetentionOptions, type RetentionRunner, type RetentionStatus } from './retention.js'
import archiveRoutes from './routes.js'

export interface ArchiveSettings {
  readonly engine: ArchiveTarget['engine']
  /** where the rows are, without secrets (no PostgreSQL password) */
  readonly location: string
  readonly retention: RetentionPolicy
  /** the policy as `--retention` writes it */
  readonly retentionText: string
}

export interface ArchiveStatus {
  readonly settings: ArchiveSettings
  /** the store is open and answering */
  readonly open: boolean
  /** why the store could not be opened or measured, in plain words; null when fine */
  readonly storeError: string | null
  readonly stats: ArchiveStats | null
  readonly ingest: IngestStatus | null
  readonly retention: RetentionStatus | null
}

export interface ArchiveHandle {
  /** the open store; null with `--archive off` or until it has been opened */
  readonly store: ArchiveStore | null
  readonly settings: ArchiveSettings
  status(): Promise<ArchiveStatus>
  /** null with `--archive off` */
  readonly ingest: ArchiveIngest | null
  readonly retention: RetentionRunner | null
}

declare module 'fastify' {
  interface FastifyInstance {
    archive: ArchiveHandle
  }
}

export interface ArchiveTuning {
  readonly ingest?: Partial<IngestOptions>
  readonly retention?: Partial<RetentionOptions>
  /** the consumer name (default: host, pid and a random part) */
  readonly consumer?: string
  readonly openStore?: OpenStore
}

export interface ArchivePluginOptions {
  target: ArchiveTarget
  retention: RetentionPolicy | undefined
  clock: Clock
  autoStart: boolean
  tuning?: ArchiveTuning
}

/** A store that failed to open is tried again after this long, not on every round. */
export const REOPEN_DELAY_MS = 10_000
/** Stats (a count over the whole table) are taken at most this often, whoever asks. */
export const STATS_MAX_AGE_MS = 10_000
/** How long a shutdown waits for the round in flight (see collector/plugin.ts for the 10 s budget). */
const STOP_WAIT_MS = 1_000

export default fp<ArchivePluginOptions>(
  async (app, options) => {
    const { target, clock } = options
    const tuning = options.tuning ?? {}
    const policy = options.retention ?? DEFAULT_RETENTION
    const settings: ArchiveSettings = { engine: target.engine, location: describeArchiveLocation(target), retention: policy, retentionText: describeRetention(policy) }

    if (target.engine === 'off') {
      app.decorate('archive', { store: null, settings, ingest: null, retention: null, status: async () => ({ settings, open: false, storeError: null, stats: null, ingest: null, retention: null }) })
      await app.register(archiveRoutes, { clock })
      return
    }

    const openStore = tuning.openStore ?? openArchiveStore
    let store: ArchiveStore | null = null
    let opening: Promise<ArchiveStore> | null = null
    let openError: { reason: string; at: number } | null = null

    async function tryOpen(): Promise<ArchiveStore> {
      try {
        store = await openStore(target as Exclude<ArchiveTarget, { engine: 'off' }>)
        openError = null
        app.log.info({ engine: settings.engine, location: settings.location }, `job archive open (${settings.engine})`)
        return store
      } catch (error) {
        openError = { reason: `cannot open the ${settings.engine} archive: ${error instanceof Error ? error.message : String(error)}`, at: clock() }
        throw new Error(openError.reason, { cause: error })
      }
    }

    function getStore(): Promise<ArchiveStore> {
      if (store) return Promise.resolve(store)
      if (openError && clock() - openError.at < REOPEN_DELAY_MS) return Promise.reject(new Error(openError.reason))
      return (opening ??= tryOpen().finally(() => (opening = null)))
    }

    const connection = duplicateConnection(app.redis, 'zenith-archiver')
    connection.on('error', () => {})
    // as for the collector's probe: give the first connect a moment, or the first round reads as an outage
    if (app.redis.status === 'ready') await waitUntilReady(connection, 3000)
    const streams = createArchiveStreams(connection, app.keys, { everyMs: 30_000, stepsPerRound: 10, maxServices: MAX_SERVICES }, (key, reason) => app.badData.report(key, reason))
    const ingest = createArchiveIngest({
      streams,
      store: getStore,
      beatingServices: () => new Set(app.collector.snapshot.nodes.map((node) => node.service)),
      clock,
      log: app.log,
      options: tuning.ingest,
      consumer: tuning.consumer,
    })
    const retention = createRetentionRunner({ store: getStore, policy, clock, log: app.log, options: tuning.retention })

    let stats: { value: ArchiveStats | null; error: string | null; at: number } | null = null
    async function readStats(): Promise<{ value: ArchiveStats | null; error: string | null }> {
      if (stats && clock() - stats.at < STATS_MAX_AGE_MS && clock() >= stats.at) return stats
      try {
        stats = { value: await (await getStore()).stats(), error: null, at: clock() }
      } catch (error) {
        stats = { value: null, error: error instanceof Error ? error.message : String(error), at: clock() }
      }
      return stats
    }

    app.decorate('archive', {
      get store() {
        return store
      },
      settings,
      ingest,
      retention,
      async status() {
        const measured = await readStats()
        return { settings, open: store !== null, storeError: openError?.reason ?? measured.error, stats: measured.value, ingest: ingest.status(), retention: retention.status() }
      },
    })

    await app.register(archiveRoutes, { clock })

    // a store that cannot be opened at boot does not stop the console: the archive shows why and is tried again
    await getStore().catch((error: Error) => app.log.warn({ event: 'archive_open_failed' }, error.message))

    if (options.autoStart)
      app.addHook('onReady', async () => {
        ingest.start()
        retention.start()
      })
    app.addHook('onClose', async () => {
      await Promise.all([ingest.stop(STOP_WAIT_MS), retention.stop(STOP_WAIT_MS)])
      connection.disconnect()
      await opening?.catch(() => {})
      await store?.close().catch((error: Error) => app.log.warn({ err: error }, 'closing the job archive failed'))
      store = null
    })
  },
  { name: 'zenith-archive', dependencies: ['zenith-collector', 'zenith-redis'] },
)
