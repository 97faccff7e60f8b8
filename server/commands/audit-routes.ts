/**
 * `/audit` (page) and its polled fragment: every command, who sent it, when, the target, the type
 * and the result, newest first, from the latest snapshot.
 */
import type { FastifyInstance } from 'fastify'
import { parseOr400 } from '../http/validate.js'
import { createFragmentCache } from '../render/fragment-cache.js'
import { sendFragment } from '../render/send-fragment.js'
import { auditQuerySchema } from './schemas.js'
import { buildAuditView } from './service.js'
import { AUDIT_FRAGMENT_URL, commandViewHelpers as h } from './view-helpers.js'

export default async function auditRoutes(app: FastifyInstance) {
  const fragments = createFragmentCache()

  app.get('/audit', async (request, reply) => {
    const query = parseOr400(auditQuerySchema, request.query, reply)
    if (!query) return reply
    const view = buildAuditView(app.collector.snapshot, query)
    return reply.viewAsync('audit/page', { title: 'Audit', view, h }, { layout: 'layout' })
  })

  app.get(AUDIT_FRAGMENT_URL, async (request, reply) => {
    const query = parseOr400(auditQuerySchema, request.query, reply)
    if (!query) return reply
    const snapshot = app.collector.snapshot
    const fragment = await fragments(snapshot.version, query.service ?? '', () => app.view('audit/log', { view: buildAuditView(snapshot, query), h }))
    return sendFragment(request, reply, fragment)
  })
}
