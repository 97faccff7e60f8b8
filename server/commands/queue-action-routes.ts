/**
 * Queue-wide commands ("Retry all failed", "Delete all failed"): a confirmation, then one signed
 * command that the queue's agent carries out over the whole failed set at its own pace.
 *
 * The confirmation states the queue's failed count from the snapshot and carries a key made when
 * it was rendered. With htmx it is swapped into the queue page's action panel, outside the polled
 * failed-jobs region, so a poll never takes it away; without JavaScript it is a page of its own.
 * The POST carries what was confirmed (type, count seen, key): the key is claimed in Redis, so the
 * same confirmation posted twice sends one command and both answers show it.
 */
import type { FastifyInstance } from 'fastify'
import { isHtmx } from '../web/request.js'
import type { ZodTypeProvider } from '../web/validate.js'
import { queuePath } from '../queues/service.js'
import { queueActionFormSchema, queueActionQuerySchema } from './schemas.js'
import { newCommandId, type CommandSender } from './sender.js'
import { checkTarget, queueActionPlan } from './service.js'
import { refuse, username } from './form-routes.js'
import { commandViewHelpers as h } from './view-helpers.js'

export const QUEUE_ACTION_URL = '/commands/queue-action'

export default async function queueActionRoutes(app: FastifyInstance, options: { sender: CommandSender }) {
  const { sender } = options
  const routes = app.withTypeProvider<ZodTypeProvider>()
  const operator = { preValidation: app.requireRole('operator') }

  routes.get(QUEUE_ACTION_URL, { ...operator, schema: { querystring: queueActionQuerySchema } }, async (request, reply) => {
    const { type, ...target } = request.query
    const back = queuePath(target.service, target.queue)
    if (!sender.enabled) return refuse(request, reply, 503, sender.disabledMessage, back)
    const check = checkTarget(app.collector.snapshot, target, [type])
    if (!check.ok) return refuse(request, reply, check.code, check.message, back)
    const data = { form: target, plan: queueActionPlan(check.queue, type), confirmation: newCommandId(), h }
    if (isHtmx(request)) return reply.viewAsync('commands/queue-action-confirm', data)
    return reply.viewAsync('commands/confirm-queue-action', { ...data, title: h.typeLabel(type), section: 'Queues' }, { layout: 'layout' })
  })

  routes.post(QUEUE_ACTION_URL, { ...operator, schema: { body: queueActionFormSchema } }, async (request, reply) => {
    const { type, countSeen, confirmation, confirmed: _, ...target } = request.body
    const outcome = await sender.sendConfirmed(target, type, { key: confirmation, countSeen }, username(request))
    if (!outcome.ok) return refuse(request, reply, outcome.code, outcome.message, queuePath(target.service, target.queue))
    if (!isHtmx(request)) return reply.redirect(h.commandUrl(outcome.command.id), 303)
    return reply.viewAsync('commands/status', { record: outcome.command, h })
  })
}
