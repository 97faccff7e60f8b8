/**
 * The commands API: `POST /api/pulse/command` (operators; 202 with the id once sent),
 * `GET /api/pulse/command/:id` (its status, from the snapshot) and `GET /api/pulse/audit`.
 */
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from '../web/validate.js'
import { auditQuerySchema, commandParamsSchema, commandRequestSchema } from './schemas.js'
import type { CommandSender } from './sender.js'
import { toAuditApi, toCommandApi } from './service.js'

export default async function commandApiRoutes(app: FastifyInstance, options: { sender: CommandSender }) {
  const routes = app.withTypeProvider<ZodTypeProvider>()
  const { sender } = options

  routes.post('/api/pulse/command', { preValidation: app.requireRole('operator'), schema: { body: commandRequestSchema } }, async (request, reply) => {
    const { body } = request
    const { type, jobId, ...target } = body
    const outcome = await sender.send(target, type, jobId, request.user?.username ?? 'unknown')
    if (!outcome.ok) return reply.code(outcome.code).send({ error: ERRORS[outcome.code], message: outcome.message })
    const id = outcome.commands[0]!.id
    return reply.code(202).header('location', `/api/pulse/command/${id}`).send({ id })
  })

  routes.get('/api/pulse/command/:id', { schema: { params: commandParamsSchema } }, async (request, reply) => {
    const { params } = request
    const record = await sender.lookupAnywhere(params.id).catch(() => null)
    if (!record) return reply.code(404).send({ error: 'Not Found', message: `no command ${params.id}` })
    return toCommandApi(record)
  })

  routes.get('/api/pulse/audit', { schema: { querystring: auditQuerySchema } }, async (request) => {
    const { query } = request
    return toAuditApi(app.collector.snapshot, query)
  })
}

const ERRORS = { 404: 'Not Found', 409: 'Conflict', 503: 'Service Unavailable' } as const
