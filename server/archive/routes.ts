/**
 * The archive's settings panel as a fragment (the /jobs page includes the same template) and its
 * status in the JSON API. Each answer takes the store's stats at most every STATS_MAX_AGE_MS.
 */
import type { FastifyInstance } from 'fastify'
import type { Clock } from '../clock.js'
import { formatHelpers } from '../web/format.js'
import { buildArchiveSettingsView } from './view.js'

export const SETTINGS_FRAGMENT_URL = '/archive/fragments/settings'

export default async function archiveRoutes(app: FastifyInstance, options: { clock: Clock }) {
  app.get(SETTINGS_FRAGMENT_URL, async (_request, reply) => {
    const archive = buildArchiveSettingsView(await app.archive.status(), options.clock())
    reply.header('cache-control', 'no-store')
    return reply.viewAsync('archive/settings', { archive, h: formatHelpers })
  })

  app.get('/api/archive', async () => {
    const status = await app.archive.status()
    return { settings: status.settings, open: status.open, storeError: status.storeError, stats: status.stats, ingest: status.ingest, retention: status.retention }
  })
}
