/**
 * The queue page's command buttons. Each works with htmx (the answer is the command's status
 * fragment, swapped in place of the buttons, polling until final) and without JavaScript (a 303
 * to the command's page). Delete asks first (hx-confirm; without JavaScript a confirmation page);
 * "retry all failed" asks with a confirmation built from the snapshot, in place with htmx, that
 * says how many jobs it retries. Every route needs the operator role except the status views;
 * the global CSRF rule applies to every POST.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { renderedFragment } from '../web/fragment-cache.js'
import { isHtmx } from '../web/request.js'
import type { ZodTypeProvider } from '../web/validate.js'
import { sendFragment } from '../web/send-fragment.js'
import { queuePath } from '../queues/service.js'
import { commandParamsSchema, deleteFormSchema, jobFormSchema, queueFormSchema, retryAllFormSchema } from './schemas.js'
import { newCommandId, planRetryAll, type CommandSender, type SendOutcome } from './sender.js'
import { checkTarget, type BatchView } from './service.js'
import { commandViewHelpers as h } from './view-helpers.js'

export default async function commandFormRoutes(app: FastifyInstance, options: { sender: CommandSender }) {
  const { sender } = options
  const routes = app.withTypeProvider<ZodTypeProvider>()
  // the role is checked before the form is validated: a viewer is refused whatever it sent
  const operator = { preValidation: app.requireRole('operator') }

  routes.post('/commands/retry', { ...operator, schema: { body: jobFormSchema } }, async (request, reply) => {
    const form = request.body
    const { jobId, ...target } = form
    return answerSent(request, reply, await sender.send(target, 'RETRY_JOB', jobId, username(request)), queuePath(form.service, form.queue))
  })

  routes.get('/commands/delete', { ...operator, schema: { querystring: jobFormSchema } }, async (request, reply) => {
    const form = request.query
    // no confirmation for a delete the queue's agent would never be sent
    const check = checkTarget(app.collector.snapshot, form, ['DELETE_JOB'])
    if (!check.ok) return refuse(request, reply, check.code, check.message, queuePath(form.service, form.queue))
    return reply.viewAsync('commands/confirm-delete', { title: 'Delete a job', section: 'Queues', form, h }, { layout: 'layout' })
  })

  routes.post('/commands/delete', { ...operator, schema: { body: deleteFormSchema } }, async (request, reply) => {
    const form = request.body
    const { jobId, confirmed: _, ...target } = form
    return answerSent(request, reply, await sender.send(target, 'DELETE_JOB', jobId, username(request)), queuePath(form.service, form.queue))
  })

  routes.get('/commands/retry-all', { ...operator, schema: { querystring: queueFormSchema } }, async (request, reply) => {
    const form = request.query
    if (!sender.enabled) return refuse(request, reply, 503, sender.disabledMessage, queuePath(form.service, form.queue))
    const planned = planRetryAll(app.collector.snapshot, form)
    if (!planned.ok) return refuse(request, reply, planned.code, planned.message, queuePath(form.service, form.queue))
    const data = { form, plan: planned.plan, confirmation: newCommandId(), h }
    if (isHtmx(request)) return reply.viewAsync('commands/retry-all-confirm', data)
    return reply.viewAsync('commands/confirm-retry-all', { ...data, title: 'Retry all failed jobs', section: 'Queues' }, { layout: 'layout' })
  })

  routes.post('/commands/retry-all', { ...operator, schema: { body: retryAllFormSchema } }, async (request, reply) => {
    const form = request.body
    const { confirmed: _, confirmation, jobId, ...target } = form
    const outcome = await sender.retryAll(target, { key: confirmation, jobIds: jobId }, username(request))
    if (!outcome.ok) return refuse(request, reply, outcome.code, outcome.message, queuePath(form.service, form.queue))
    // a repeated POST may arrive while the first is still sending: its batch is then all pending
    const batch = sender.batch(outcome.batch) ?? pendingBatch(outcome.batch, target, jobId.length)
    if (!isHtmx(request)) return reply.redirect(h.batchUrl(batch.id), 303)
    return reply.viewAsync('commands/batch-status', { batch, h })
  })

  routes.get('/commands/:id', { schema: { params: commandParamsSchema } }, async (request, reply) => {
    const params = request.params
    const record = await sender.lookupAnywhere(params.id).catch(() => null)
    if (!record) return refuse(request, reply, 404, `no command ${params.id}: unknown, or older than the audit log keeps`, '/audit')
    return reply.viewAsync('commands/command-page', { title: 'Command', section: 'Audit', record, h }, { layout: 'layout' })
  })

  routes.get('/commands/:id/status', { schema: { params: commandParamsSchema } }, async (request, reply) => {
    const params = request.params
    const record = await sender.lookupAnywhere(params.id).catch(() => null)
    if (!record) return reply.code(404).viewAsync('commands/error', { message: 'unknown command' })
    return sendFragment(request, reply, renderedFragment(await app.view('commands/status', { record, h })))
  })

  routes.get('/commands/batches/:id', { schema: { params: commandParamsSchema } }, async (request, reply) => {
    const params = request.params
    const batch = sender.batch(params.id)
    if (!batch) return refuse(request, reply, 404, `no batch ${params.id}`, '/audit')
    return reply.viewAsync('commands/batch-page', { title: 'Retry all', section: 'Audit', batch, h }, { layout: 'layout' })
  })

  routes.get('/commands/batches/:id/status', { schema: { params: commandParamsSchema } }, async (request, reply) => {
    const params = request.params
    const batch = sender.batch(params.id)
    if (!batch) return reply.code(404).viewAsync('commands/error', { message: 'unknown batch' })
    return sendFragment(request, reply, renderedFragment(await app.view('commands/batch-status', { batch, h })))
  })

  /** Sent: the status fragment for htmx, else a 303 to the command's page. */
  async function answerSent(request: FastifyRequest, reply: FastifyReply, outcome: SendOutcome, back: string) {
    if (!outcome.ok) return refuse(request, reply, outcome.code, outcome.message, back)
    const record = sender.lookup(outcome.commands[0]!.id)!
    if (!isHtmx(request)) return reply.redirect(h.commandUrl(record.id), 303)
    return reply.viewAsync('commands/status', { record, h })
  }
}

function pendingBatch(id: string, target: { service: string; queue: string }, total: number): BatchView {
  return { id, total, counts: { pending: total, ok: 0, failed: 0, rejected: 0, expired: 0 }, done: false, service: target.service, queue: target.queue }
}

export function username(request: FastifyRequest): string {
  return request.user?.username ?? 'unknown'
}

/** A refusal in place of the buttons (htmx), or as a page of its own; resolves to the HTML. */
export function refuse(request: FastifyRequest, reply: FastifyReply, code: 400 | 404 | 409 | 503, message: string, back: string): Promise<string> {
  reply.code(code)
  if (isHtmx(request)) return reply.viewAsync('commands/error', { message })
  return reply.viewAsync('commands/error-page', { title: 'Command not sent', section: 'Queues', heading: code === 404 ? 'Not found' : 'Command not sent', message, back }, { layout: 'layout' })
}
