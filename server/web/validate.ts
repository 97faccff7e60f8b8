/**
 * Request validation for every route: routes declare zod schemas in their options
 * (`schema: { querystring, params, body }`) and handlers receive the parsed, typed values. One
 * error handler answers a request that fails them with 400: JSON under /api/, an HTML page
 * elsewhere (a banner alone for htmx, which swaps 4xx answers into the fragment it polls).
 * The same handler, and the not-found handler, give a browser's page load an HTML 500 or 404 page
 * with the navigation; API, htmx and fragment requests keep JSON or plain answers.
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
      if (!hasZodFastifySchemaValidationErrors(error)) {
        // a browser gets a page with the navigation for a failure of ours; a client error (a body
        // that is not JSON, too large) and every API or htmx request keep Fastify's own answer
        const status = error.statusCode ?? 500
        if (status < 500 || !wantsPage(request)) throw error
        request.log.error({ err: error }, 'request failed')
        return reply.code(status).viewAsync('web/server-error', { title: 'Something went wrong', requestId: request.id }, { layout: 'layout' })
      }
      const first = error.validation[0]
      // the first problem only: one line a person can act on
      const field = first?.instancePath.slice(1).replaceAll('/', '.') || 'input'
      return badRequest(request, reply, `invalid ${field}: ${first?.message ?? 'bad value'}`)
    })
    // an unknown URL: a page with the navigation for a browser, Fastify's JSON for anything else
    app.setNotFoundHandler(async (request, reply) => {
      const message = `Route ${request.method}:${pathOf(request.url)} not found`
      reply.code(404)
      if (!wantsPage(request)) return reply.send({ message, error: 'Not Found', statusCode: 404 })
      return reply.viewAsync('web/not-found', { title: 'Not found', path: pathOf(request.url) }, { layout: 'layout' })
    })
  },
  { name: 'zenith-validation', dependencies: ['zenith-views'] },
)

/**
 * A person's browser loading a page: it asks for HTML, and it is neither an API call, an htmx
 * swap (which would put a whole page into a fragment) nor a fragment URL (polled by htmx, whose
 * plain answers the page's scripts read).
 */
function wantsPage(request: FastifyRequest): boolean {
  const path = pathOf(request.url)
  if (isApiPath(path) || isHtmx(request) || path.includes('/fragments/')) return false
  if (request.method !== 'GET' && request.method !== 'HEAD') return false
  return /\btext\/html\b/.test(String(request.headers.accept ?? ''))
}

function badRequest(request: FastifyRequest, reply: FastifyReply, message: string) {
  reply.code(400)
  if (isApiPath(pathOf(request.url))) return reply.send({ error: 'Bad Request', message })
  if (isHtmx(request)) return reply.viewAsync('web/bad-request', { message, page: false })
  return reply.viewAsync('web/bad-request', { title: 'Bad request', message, page: true }, { layout: 'layout' })
}
