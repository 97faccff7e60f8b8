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
import { buildArchiveSettingsView, type ArchiveSettingsView } from '../archive/view.js'
import jobsRoutes from './routes.js'

export interface JobsPluginOptions {
  clock: Clock
  /** how much of the live queues one search reads */
  liveWindow?: LiveWindowBounds
}

export interface JobSources {
  archiveStore(): ArchiveStore | null
  /** why an archive that is on has no store (it could not be opened), else null */
  archiveProblem(): Promise<string | null>
  archiveOff(): boolean
  liveJobs(): LiveJobReader | null
  liveWindow(): ((version: number, records: readonly QueueRecord[], states: readonly LiveJobState[]) => Promise<LiveWindow>) | null
  queues(snapshot: Snapshot): readonly QueueRecord[]
  /** the archive's settings and state, for the page's settings partial */
  settingsView(): Promise<ArchiveSettingsView>
}

export default fp<JobsPluginOptions>(
  async (app, options) => {
    await app.register(jobsRoutes, { clock: options.clock, sources: jobSources(app, options.clock, options.liveWindow ?? DEFAULT_LIVE_WINDOW) })
  },
  { name: 'zenith-jobs', dependencies: ['zenith-queues', 'zenith-collector', 'zenith-commands', 'zenith-archive'] },
)

function jobSources(app: FastifyInstance, clock: Clock, bounds: LiveWindowBounds): JobSources {
  const windows = createLiveWindows(app.liveJobs, bounds)
  return {
    archiveStore: () => app.archive.store,
    archiveOff: () => app.archive.settings.engine === 'off',
    async archiveProblem() {
      if (app.archive.store || app.archive.settings.engine === 'off') return null
      return (await app.archive.status()).storeError ?? 'the store is not open'
    },
    settingsView: async () => buildArchiveSettingsView(await app.archive.status(), clock()),
    liveJobs: () => app.liveJobs,
    liveWindow: () => windows,
    queues: (snapshot) => queueRecordsOf(snapshot),
  }
}
