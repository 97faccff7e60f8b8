/**
 * Request validation for every route: routes declare zod schemas in their options
 * (`schema: { querystring, params, body }`) and handlers receive the parsed, typed values. One
 * error handler answers a request that fails them with 400: JSON under /api/, an HTML page
 * elsewhere (a banner alone for htmx, which swaps 4xx answers into the fragment it polls).
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors, validatorCompiler } from 'fastify-type-provider-zod'
import { isApiPath, isHtmx, pathOf } from './request.js'

export type { ZodTypeProvider } from 'fastify-type-provider-zod'

export default fp(
  async (app) => {
    app.setValidatorCompiler(validatorCompiler)
    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      // anything else (a body that is not JSON, a handler's error) keeps Fastify's own answer
      if (!hasZodFastifySchemaValidationErrors(error)) throw error
      const first = error.validation[0]
      // the first problem only: one line a person can act on
      const field = first?.instancePath.slice(1).replaceAll('/', '.') || 'input'
      return badRequest(request, reply, `invalid ${field}: ${first?.message ?? 'bad value'}`)
    })
  },
  { name: 'zenith-validation', dependencies: ['zenith-views'] },
)

function badRequest(request: FastifyRequest, reply: FastifyReply, message: string) {
  reply.code(400)
  if (isApiPath(pathOf(request.url))) return reply.send({ error: 'Bad Request', message })
  if (isHtmx(request)) return reply.viewAsync('web/bad-request', { message, page: false })
  return reply.viewAsync('web/bad-request', { title: 'Bad request', message, page: true }, { layout: 'layout' })
}
