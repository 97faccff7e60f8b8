/**
 * The commands API: `POST /api/pulse/command` (operators; 202 with the id once sent),
 * `GET /api/pulse/command/:id` (its status, from the snapshot) and `GET /api/pulse/audit`.
 */
import type { FastifyInstance } from 'fastify'
import { parseOr400 } from '../web/validate.js'
import { auditQuerySchema, commandParamsSchema, commandRequestSchema } from './schemas.js'
import type { CommandSender } from './sender.js'
import { toAuditApi, toCommandApi } from './service.js'

export default async function commandApiRoutes(app: FastifyInstance, options: { sender: CommandSender }) {
  const { sender } = options

  app.post('/api/pulse/command', { preHandler: app.requireRole('operator') }, async (request, reply) => {
    const body = parseOr400(commandRequestSchema, request.body, reply)
    if (!body) return reply
    const { type, jobId, ...target } = body
    const outcome = await sender.send(target, type, jobId, request.user?.username ?? 'unknown')
    if (!outcome.ok) return reply.code(outcome.code).send({ error: ERRORS[outcome.code], message: outcome.message })
    const id = outcome.commands[0]!.id
    return reply.code(202).header('location', `/api/pulse/command/${id}`).send({ id })
  })

  app.get('/api/pulse/command/:id', async (request, reply) => {
    const params = parseOr400(commandParamsSchema, request.params, reply)
    if (!params) return reply
    const record = await sender.lookupAnywhere(params.id).catch(() => null)
    if (!record) return reply.code(404).send({ error: 'Not Found', message: `no command ${params.id}` })
    return toCommandApi(record)
  })

  app.get('/api/pulse/audit', async (request, reply) => {
    const query = parseOr400(auditQuerySchema, request.query, reply)
    if (!query) return reply
    return toAuditApi(app.collector.snapshot, query)
  })
}

const ERRORS = { 404: 'Not Found', 409: 'Conflict', 503: 'Service Unavailable' } as const
