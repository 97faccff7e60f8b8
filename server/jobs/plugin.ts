/**
 * The jobs area: search every job, live and archived (`/jobs`, `/api/jobs`), and one job in full.
 * It reads what other areas decorate: `app.archive` (the archiver; its store is null when the
 * archive is off) and `app.liveJobs` (the queues area), and the queues of the latest snapshot.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Clock } from '../clock.js'
import type { Snapshot } from '../collector/snapshot.js'
import type { ArchiveStore } from '../archive/store.js'
import type { LiveJobReader, LiveJobState } from '../queues/live-jobs.js'
import { queueRecordsOf, type QueueRecord } from '../queues/records.js'
import { createLiveWindows, DEFAULT_LIVE_WINDOW, type LiveWindow, type LiveWindowBounds } from './live-window.js'
import jobsRoutes from './routes.js'

export interface JobsPluginOptions {
  clock: Clock
  /** how much of the live queues one search reads */
  liveWindow?: LiveWindowBounds
}

export interface JobSources {
  archiveStore(): ArchiveStore | null
  liveJobs(): LiveJobReader | null
  liveWindow(): ((version: number, records: readonly QueueRecord[], states: readonly LiveJobState[]) => Promise<LiveWindow>) | null
  queues(snapshot: Snapshot): readonly QueueRecord[]
  /** the archive's settings, for the page's settings partial */
  settingsView?(): unknown
}

export default fp<JobsPluginOptions>(
  async (app, options) => {
    await app.register(jobsRoutes, { clock: options.clock, sources: jobSources(app, options.liveWindow ?? DEFAULT_LIVE_WINDOW) })
  },
  { name: 'zenith-jobs', dependencies: ['zenith-queues', 'zenith-collector', 'zenith-commands'] },
)

function jobSources(app: FastifyInstance, bounds: LiveWindowBounds): JobSources {
  const decorated = app as FastifyInstance & { archive?: { store: ArchiveStore | null }; liveJobs?: LiveJobReader }
  let windows: ReturnType<typeof createLiveWindows> | null = null
  return {
    archiveStore: () => decorated.archive?.store ?? null,
    liveJobs: () => decorated.liveJobs ?? null,
    liveWindow() {
      if (!decorated.liveJobs) return null
      windows ??= createLiveWindows(decorated.liveJobs, bounds)
      return windows
    },
    queues: (snapshot) => queueRecordsOf(snapshot),
  }
}
