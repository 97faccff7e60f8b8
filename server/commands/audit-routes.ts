/**
 * `/audit` (page) and its polled fragment: every command, who sent it, when, the target, the type
 * and the result, newest first, from the latest snapshot.
 */
import type { FastifyInstance } from 'fastify'
import { registerPolledPage } from '../web/polled-page.js'
import { auditQuerySchema } from './schemas.js'
import { buildAuditView } from './service.js'
import { AUDIT_FRAGMENT_URL, commandViewHelpers as h } from './view-helpers.js'

export default async function auditRoutes(app: FastifyInstance) {
  registerPolledPage(app, {
    page: { url: '/audit', template: 'audit/page', title: 'Audit' },
    fragment: { url: AUDIT_FRAGMENT_URL, template: 'audit/log' },
    query: auditQuerySchema,
    cacheKey: (query) => query.service ?? '',
    build: buildAuditView,
    helpers: h,
  })
}
