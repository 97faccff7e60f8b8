/**
 * Reads back the names `nameSegment` (urls.ts) put in a path: a node named `..` is linked as
 * `/pulse/billing/~..`, and every route sees `nodeId: '..'`. Done in preValidation, once for every
 * route, so no handler or schema can forget it and validation sees the real name.
 */
import fp from 'fastify-plugin'
import { NAME_PARAMS, nameFromSegment } from './urls.js'

export default fp(
  async (app) => {
    app.addHook('preValidation', async (request) => {
      const params = request.params as Record<string, unknown> | undefined
      if (!params) return
      for (const key of NAME_PARAMS) {
        const value = params[key]
        if (typeof value === 'string') params[key] = nameFromSegment(value)
      }
    })
  },
  { name: 'zenith-name-params' },
)
